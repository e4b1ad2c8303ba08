"""The speech a render uses: AUDIO decoded, or --text synthesised; what is analysed and what is muxed."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .media.audio import SpeechAudio, decode_speech
from .request import RenderRequest

log = logging.getLogger(__name__)

TEXT_MARGIN = 0.3
"""Seconds of silence before and after synthesised speech: the clip opens and ends on the still
face, as a speaker draws breath, rather than cutting in mid-word (--trim-silence removes it)."""


@dataclass(frozen=True)
class PreparedSpeech:
    """Speech ready for a render."""

    speech: SpeechAudio
    """16 kHz mono samples for analysis."""
    mux_audio: Path
    """The file whose audio goes into the video."""
    phones: tuple[Any, ...] | None = None
    """Exact timed phones when the speech was synthesised."""
    synthesized: Path | None = None
    """The synthesised WAV, with --text."""


def prepare_speech(ffmpeg: str, request: RenderRequest, work_dir: Path) -> PreparedSpeech:
    """Decode the request's audio, or synthesise its text into `work_dir`; InputError when unusable."""
    options, audio = request, request.audio
    if options.text is not None:
        from .speech.tts import synthesize_to_wav

        synthesized = synthesize_to_wav(
            options.text,
            work_dir / "speech.wav",
            voice=options.voice,
            rate=options.rate,
            pitch=options.pitch,
            margin=TEXT_MARGIN,
        )
        speech = decode_speech(ffmpeg, synthesized.wav, max_duration=options.max_duration)
        log.info(
            "synthesised %.2f s of speech with the eSpeak NG voice %s",
            synthesized.duration,
            options.voice,
        )
        prepared = PreparedSpeech(speech, synthesized.wav, synthesized.phones, synthesized.wav)
    else:
        assert audio is not None
        speech = decode_speech(ffmpeg, audio, max_duration=options.max_duration)
        prepared = PreparedSpeech(speech, extract_for_mux(ffmpeg, audio, work_dir))
    if options.trim_silence:
        prepared = trim_silence(ffmpeg, prepared, options.max_pause, work_dir)
    return prepared


def extract_for_mux(ffmpeg: str, audio: Path, work_dir: Path) -> Path:
    """The audio stream as PCM from its first sample, as the analysis decodes it.

    Muxing from the source container directly would honour the stream's start offset there (an
    audio track starting late in a video file) and shift the sound against the mouth.
    """
    from .media.ffmpeg import run_ffmpeg

    target = work_dir / "speech_for_mux.wav"
    run_ffmpeg(
        ffmpeg,
        [
            "-i",
            str(audio),
            "-map",
            "0:a:0",
            "-vn",
            "-c:a",
            "pcm_s16le",
            "-f",
            "wav",
            "-y",
            str(target),
        ],
        what=f"extracting the audio of {audio.name}",
    )
    return target


def trim_silence(
    ffmpeg: str, prepared: PreparedSpeech, max_pause: float, work_dir: Path
) -> PreparedSpeech:
    """Cut silence from both the analysis samples and the muxed audio, the same cuts in each, so sync holds."""
    from .speech.trim import apply_trim, plan_trim, speech_spans, trim_file

    speech = prepared.speech
    plan = plan_trim(
        speech_spans(speech.samples, speech.sample_rate), speech.duration, max_pause=max_pause
    )
    if abs(plan.duration - speech.duration) < 1e-3:
        log.info("--trim-silence: nothing to trim")
        return prepared
    trimmed_file = work_dir / "trimmed.wav"
    trim_file(ffmpeg, prepared.mux_audio, trimmed_file, plan)
    samples = apply_trim(speech.samples, speech.sample_rate, plan)
    phones = None
    if prepared.phones is not None:
        moved = ((p, plan.output_time(p.start), plan.output_time(p.end)) for p in prepared.phones)
        phones = tuple(type(p)(p.phone, start, end) for p, start, end in moved if end > start)
    log.info("--trim-silence: %.2f s -> %.2f s", speech.duration, plan.duration)
    return PreparedSpeech(
        SpeechAudio(samples, speech.sample_rate, trimmed_file),
        trimmed_file,
        phones,
        prepared.synthesized,
    )


def check_save_audio(options: RenderRequest, taken: list[Path]) -> Path | None:
    """Where --save-audio writes, checked before any work."""
    if options.save_audio is None:
        return None
    path = Path(options.save_audio).expanduser().absolute()
    if path.suffix.lower() != ".wav":
        raise InputError(
            f"--save-audio {path}: the synthesised speech is written as WAV; use a .wav name"
        )
    if not path.parent.is_dir():
        raise InputError(f"the folder of --save-audio does not exist: {path.parent}")
    if any(path == other for other in taken):
        raise InputError(
            f"--save-audio {path} would overwrite another file of this render; choose another name"
        )
    if path.exists() and not options.overwrite:
        raise InputError(f"--save-audio {path} already exists; pass --overwrite to replace it")
    return path


def keep_copy(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary name, so `target` is whole or absent."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    partial.replace(target)
