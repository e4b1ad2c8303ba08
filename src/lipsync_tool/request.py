"""RenderRequest: everything one render needs that costs nothing to change between renders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .option_specs import as_json, option, validate

VISEMES_CHOICES = ("auto", "phonetic", "acoustic")
ASR_CHOICES = ("auto", "whisper", "pocketsphinx")
UPSCALER_CHOICES = ("bicubic", "realesrgan")
DEFAULT_LOUDNESS = -16.0


def _path(value: Any) -> Path | None:
    return None if value is None else Path(value).expanduser()


@dataclass(frozen=True)
class RenderRequest:
    """One render: inputs, output and every per-render setting.

    Nothing here needs a model reload, so one loaded `Renderer` serves any request. Paths may be
    given as strings; they are kept as `Path`. `options` holds the engine's own per-render options
    (its options dataclass, or a mapping of its fields; None: its defaults).
    """

    portrait: Path = option(None, "photo of a face (jpg, png, webp, bmp, tiff)", cli=False)
    """The portrait to animate."""
    audio: Path | None = option(None, "speech: any file ffmpeg decodes", cli=False)
    """The speech recording; None with `text`."""
    output: Path = option(None, "the video to write (.mp4, .mov, .mkv or .webm)", cli=False)
    """Where the video goes; written atomically."""
    text: str | None = option(
        None,
        "speak this text instead of reading AUDIO",
        group="text to speech (eSpeak NG, offline)",
        metavar="TEXT",
        file_flag="--text-file",
    )
    """Speak this text with eSpeak NG instead of reading `audio` (its phoneme timings drive the mouth)."""
    voice: str = option(
        "en-us",
        "eSpeak NG voice, e.g. en-us, en-gb, de, es, fr (see --list-voices)",
        group="text to speech (eSpeak NG, offline)",
    )
    """eSpeak NG voice for `text`."""
    rate: int = option(
        160,
        "speaking rate in words per minute",
        minimum=80,
        maximum=450,
        group="text to speech (eSpeak NG, offline)",
    )
    """Speaking rate for `text`, words per minute."""
    pitch: int = option(
        50, "voice pitch", minimum=0, maximum=99, group="text to speech (eSpeak NG, offline)"
    )
    """Voice pitch for `text`."""
    save_audio: Path | None = option(
        None,
        "also write the synthesised speech as WAV",
        kind=Path,
        metavar="PATH",
        group="text to speech (eSpeak NG, offline)",
    )
    """Also write the synthesised speech (WAV) here."""
    transcript: str | None = option(
        None,
        "the words spoken: aligned instead of recognised (more accurate)",
        metavar="TEXT",
        file_flag="--transcript-file",
        group="speech analysis",
    )
    """The words spoken, if known: forced alignment instead of recognition."""
    asr: str = option(
        "auto",
        "without --transcript: how the words are found; whisper transcribes them (the [asr] "
        "extra) and aligns them, pocketsphinx recognises phones; auto: whisper when installed",
        choices=ASR_CHOICES,
        group="speech analysis",
    )
    """Without `transcript`: whisper (transcribe, then align the words), pocketsphinx (phone
    recognition), or auto (whisper when the [asr] extra is installed and a model fits the language)."""
    language: str = option("en", "language of the speech, e.g. en, de, es", group="speech analysis")
    """Language of the speech (ISO code); phone recognition is English-only."""
    visemes: str = option(
        "auto",
        "mouth shapes from recognised phones (English) or from the sound itself; "
        "auto: by --language",
        choices=VISEMES_CHOICES,
        group="speech analysis",
    )
    """How mouth shapes are found: auto (phonetic for English, else acoustic), phonetic, acoustic."""
    trim_silence: bool = option(
        False,
        "cut leading/trailing silence and shorten long pauses before rendering",
        group="speech clean-up",
    )
    """Cut leading and trailing silence and shorten long pauses before rendering."""
    max_pause: float = option(
        0.6,
        "with --trim-silence: longest pause kept",
        minimum=0.05,
        metavar="SECONDS",
        group="speech clean-up",
    )
    """With `trim_silence`: pauses longer than this (seconds) are shortened to it."""
    normalize_loudness: float | None = option(
        None,
        f"level the speech to this EBU R128 loudness (given alone: {DEFAULT_LOUDNESS:g})",
        kind=float,
        const=DEFAULT_LOUDNESS,
        minimum=-70,
        maximum=-5,
        metavar="LUFS",
        group="speech clean-up",
    )
    """Level the muxed speech to this integrated loudness (LUFS); None: keep it."""
    fps: float = option(25.0, "frame rate of the video", minimum=1, maximum=120, group="motion")
    """Output frame rate."""
    expression_scale: float = option(
        1.0,
        "scale of mouth and head motion (0: a still face)",
        minimum=0,
        maximum=3,
        group="motion",
    )
    """Scale of facial motion: mouth amplitude and head motion (1.0 natural, 0 still)."""
    still: bool = option(True, "allow larger head motion", negate=True, group="motion")
    """Keep the head nearly still; False allows larger head motion."""
    blink: bool = option(True, "do not blink", negate=True, group="motion")
    """Blink now and then."""
    seed: int | None = option(
        None,
        "seed of blinks and head motion (default: derived from the audio)",
        kind=int,
        group="motion",
    )
    """Seed of blinks and head motion; None: derived from the audio, so renders repeat."""
    upscale: bool = option(
        True, "keep the engine's native size instead of 1080 lines", negate=True, group="output"
    )
    """Scale the video to 1080 lines; False keeps the engine's native size."""
    upscaler: str = option(
        "bicubic",
        "how the picture is enlarged to 1080 lines: bicubic, or realesrgan (learned detail, "
        "the [upscale] extra; slow on a CPU: see lipsync-tool estimate)",
        choices=UPSCALER_CHOICES,
        group="output",
    )
    """How the picture is enlarged to the video's size: bicubic, or realesrgan (Real-ESRGAN x4plus's
    detail; the [upscale] extra)."""
    export_cues: Path | None = option(
        None,
        "also write the mouth cues (Rhubarb Lip Sync shapes A-H, X) as .json or .tsv",
        kind=Path,
        metavar="PATH",
        group="output",
    )
    """Also write the mouth cues (Rhubarb Lip Sync format; .json or .tsv)."""
    overwrite: bool = option(False, "replace OUTPUT if it exists", group="output")
    """Replace an existing output (and export) file."""
    keep_temp: bool = option(
        False, "keep the temporary work directory and print where it is", group="output"
    )
    """Keep the temporary work directory and report it in the result."""
    max_duration: float = option(
        600.0, "longest audio accepted", minimum=0.1, metavar="SECONDS", group="output"
    )
    """Longest audio accepted, in seconds."""
    options: object = option(None, "the engine's own options", cli=False)
    """The engine's per-render options: its options dataclass or a mapping of its fields."""

    def __post_init__(self) -> None:
        for name in ("portrait", "output", "audio", "save_audio", "export_cues"):
            object.__setattr__(self, name, _path(getattr(self, name)))
        if self.portrait is None:
            raise InputError("no PORTRAIT given: name the photo of a face to animate")
        if self.output is None:
            raise InputError("no OUTPUT given: name the video file to write")
        validate(self)
        self._check_speech()
        if self.export_cues is not None and self.export_cues.suffix.lower() not in (
            ".json",
            ".tsv",
        ):
            raise InputError(f"--export-cues {self.export_cues}: use a .json or .tsv file name")

    def _check_speech(self) -> None:
        if self.audio is not None and self.text is not None:
            raise InputError("give either AUDIO or --text/--text-file, not both")
        if self.audio is None and self.text is None:
            raise InputError(
                "no speech given: pass an AUDIO file, or --text/--text-file to synthesise it"
            )
        if self.text is not None and not self.text.strip():
            raise InputError("--text is empty; give the words to speak")
        if self.transcript is not None and not self.transcript.strip():
            raise InputError("--transcript is empty; give the words spoken, or leave it out")
        if self.asr == "whisper":
            from .speech.whisper import EXTRA_HINT, installed

            if not installed():
                raise InputError(
                    f"--asr whisper needs the speech recogniser of the [asr] extra; install it with: {EXTRA_HINT}"
                )
        if self.upscaler == "realesrgan":
            from .upscale.realesrgan import EXTRA_HINT as UPSCALE_HINT
            from .upscale.realesrgan import installed as upscaler_installed

            if not upscaler_installed():
                raise InputError(
                    f"--upscaler realesrgan needs the ncnn runtime of the [upscale] extra; install it with: {UPSCALE_HINT}"
                )
        if self.save_audio is not None and self.text is None:
            raise InputError(
                "--save-audio writes synthesised speech: use it with --text or --text-file"
            )

    def replace(self, **changes: Any) -> RenderRequest:
        """A copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of every field."""
        return as_json(self)


UNIVERSAL_FIELDS = frozenset(
    {
        "portrait",
        "output",
        "audio",
        "text",
        "voice",
        "rate",
        "pitch",
        "save_audio",
        "trim_silence",
        "max_pause",
        "normalize_loudness",
        "fps",
        "upscale",
        "export_cues",
        "overwrite",
        "keep_temp",
        "max_duration",
        "options",
    }
)
"""Request fields every engine honours; an engine names which of the others it uses."""
