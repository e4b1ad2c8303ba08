"""Every render option in one frozen, documented dataclass; the CLI builds one and nothing else reads argparse."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

PREPROCESS_CHOICES = ("crop", "extcrop", "extreme_crop", "resize", "full", "extfull")
PREPROCESS_ALIASES = {"extreme_crop": "extcrop"}
RESOLUTION_CHOICES = (256, 512)
ENHANCER_CHOICES = ("gfpgan", "RestoreFormer")
OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
VISEMES_CHOICES = ("auto", "phonetic", "acoustic")
WAV2LIP_CHECKPOINT_CHOICES = ("gan", "base")
WAV2LIP_IMPL_CHOICES = ("native", "upstream")


@dataclass(frozen=True)
class Wav2LipOptions:
    """Options of the wav2lip engine (the CLI's --wav2lip-* flags)."""

    pads: tuple[int, int, int, int] = (0, 10, 0, 0)
    """Padding around the detected face box in pixels: top, bottom, left, right (upstream's order)."""
    static: bool | None = None
    """Use only the first frame of the face input; None: decide from the input (a still image is static)."""
    nosmooth: bool = False
    """Do not smooth the face box over 5 frames."""
    batch_size: int | None = None
    """Generator batch size; None: 128 on CUDA (upstream's default), 16 on the CPU (as fast there, a tenth of the memory)."""
    face_det_batch_size: int = 16
    """Face-detection batch size."""
    resize_factor: int = 1
    """Downscale the face input by this factor before inference."""
    crop: tuple[int, int, int, int] | None = None
    """Face box set by hand, X1 Y1 X2 Y2 in portrait pixels; None: detect it."""
    checkpoint: str = "gan"
    """Generator checkpoint: "gan" (wav2lip_gan.pth), "base" (wav2lip.pth), or a path to a .pth/.pt file."""
    impl: str = "native"
    """Which inference runs: "native" (our PyTorch code) or "upstream" (the pinned repository's inference.py)."""

    def __post_init__(self) -> None:
        if self.impl not in WAV2LIP_IMPL_CHOICES:
            raise InputError(
                f"--wav2lip-impl must be one of {', '.join(WAV2LIP_IMPL_CHOICES)}, not {self.impl!r}"
            )
        if not str(self.checkpoint).strip():
            raise InputError(
                "--wav2lip-checkpoint is empty; give gan, base or the path of a checkpoint file"
            )
        if len(self.pads) != 4:
            raise InputError("--wav2lip-pads takes four integers: TOP BOTTOM LEFT RIGHT")
        for name in ("batch_size", "face_det_batch_size", "resize_factor"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise InputError(f"--wav2lip-{name.replace('_', '-')} must be at least 1")
        if self.crop is not None:
            x1, y1, x2, y2 = self.crop
            if x2 <= x1 or y2 <= y1 or min(x1, y1) < 0:
                raise InputError(
                    "--wav2lip-crop takes X1 Y1 X2 Y2 with 0 <= X1 < X2 and 0 <= Y1 < Y2"
                )


@dataclass(frozen=True)
class RenderOptions:
    """How to render one talking-portrait video. Defaults match the CLI's."""

    engine: str = "warp"
    """Engine name, one of the registry's (warp, sadtalker, wav2lip)."""
    fps: float = 25.0
    """Output frame rate."""
    resolution: int = 256
    """Face render size of the neural engines (SadTalker --size): 256 or 512."""
    preprocess: str = "crop"
    """SadTalker preprocessing: crop, extcrop (alias extreme_crop), resize, full, extfull."""
    expression_scale: float = 1.0
    """Scale of facial motion: mouth amplitude and head motion (1.0 = natural)."""
    still: bool = True
    """Keep the head nearly still; False (--no-still) allows larger head motion."""
    enhancer: str | None = None
    """Face enhancer of the SadTalker engine: gfpgan or RestoreFormer."""
    sadtalker_batch_size: int = 2
    """Face-renderer batch of the SadTalker engine (upstream --batch_size): larger is faster and needs more GPU memory."""
    cache_dir: Path | None = None
    """Cache for downloaded resources; None: $LIPSYNC_CACHE_DIR, else the platform user cache dir."""
    upscale: bool = True
    """Scale the video to 1080 lines; False (--no-upscale) keeps the engine's native size."""
    keep_temp: bool = False
    """Keep the temporary work directory and report where it is."""
    overwrite: bool = False
    """Replace an existing output file."""
    install_deps: bool = False
    """Let an engine install what it lacks."""
    max_duration: float = 600.0
    """Longest audio accepted, in seconds."""
    visemes: str = "auto"
    """How the warp engine finds mouth shapes: auto (phonetic for English, else acoustic), phonetic, acoustic."""
    language: str = "en"
    """Language of the speech (ISO code such as en, de, es); phone recognition is English-only."""
    transcript: str | None = None
    """The words spoken, if known: forced alignment instead of recognition (more accurate)."""
    blink: bool = True
    """Blink now and then (warp engine)."""
    seed: int | None = None
    """Seed of blinks and head motion; None: derived from the audio, so a render is repeatable."""
    export_cues: Path | None = None
    """Also write the mouth cues (Rhubarb Lip Sync format; .json or .tsv)."""
    text: str | None = None
    """Speak this text with eSpeak NG instead of reading AUDIO (the phoneme timings drive the mouth exactly)."""
    voice: str = "en-us"
    """eSpeak NG voice for `text` (en-us, de, es, fr, …; `--list-voices`)."""
    rate: int = 160
    """Speaking rate for `text`, words per minute (80–450)."""
    pitch: int = 50
    """Voice pitch for `text` (0–99)."""
    save_audio: Path | None = None
    """Also write the synthesised speech (WAV) here."""
    trim_silence: bool = False
    """Cut leading and trailing silence and shorten long pauses before rendering."""
    max_pause: float = 0.6
    """With trim_silence: pauses longer than this (seconds) are shortened to it."""
    normalize_loudness: float | None = None
    """Level the muxed speech to this integrated loudness (LUFS, EBU R128), e.g. -16; None: keep it."""
    wav2lip: Wav2LipOptions = field(default_factory=Wav2LipOptions)
    """Options of the wav2lip engine."""

    def __post_init__(self) -> None:
        if not 1 <= self.fps <= 120:
            raise InputError(f"--fps must be between 1 and 120, not {self.fps:g}")
        if self.resolution not in RESOLUTION_CHOICES:
            raise InputError(f"--resolution must be 256 or 512, not {self.resolution}")
        if self.preprocess not in PREPROCESS_CHOICES:
            raise InputError(f"--preprocess must be one of {', '.join(PREPROCESS_CHOICES)}")
        if not 0 <= self.expression_scale <= 3:
            raise InputError(
                f"--expression-scale must be between 0 and 3, not {self.expression_scale:g}"
            )
        if self.enhancer is not None and self.enhancer not in ENHANCER_CHOICES:
            raise InputError(f"--enhancer must be one of {', '.join(ENHANCER_CHOICES)}")
        if not 1 <= self.sadtalker_batch_size <= 64:
            raise InputError(
                f"--sadtalker-batch-size must be between 1 and 64, not {self.sadtalker_batch_size}"
            )
        if self.max_duration <= 0:
            raise InputError("--max-duration must be a positive number of seconds")
        if self.visemes not in VISEMES_CHOICES:
            raise InputError(f"--visemes must be one of {', '.join(VISEMES_CHOICES)}")
        if self.transcript is not None and not self.transcript.strip():
            raise InputError("--transcript is empty; give the words spoken, or leave it out")
        if self.text is not None and not self.text.strip():
            raise InputError("--text is empty; give the words to speak")
        if not 80 <= self.rate <= 450:
            raise InputError(f"--rate must be between 80 and 450 words per minute, not {self.rate}")
        if not 0 <= self.pitch <= 99:
            raise InputError(f"--pitch must be between 0 and 99, not {self.pitch}")
        if self.save_audio is not None and self.text is None:
            raise InputError(
                "--save-audio writes synthesised speech: use it with --text or --text-file"
            )
        if self.max_pause < 0.05:
            raise InputError(f"--max-pause must be at least 0.05 s, not {self.max_pause:g}")
        if self.normalize_loudness is not None and not -70 <= self.normalize_loudness <= -5:
            raise InputError(
                f"--normalize-loudness must be between -70 and -5 LUFS, not {self.normalize_loudness:g}"
            )
        if self.export_cues is not None and Path(self.export_cues).suffix.lower() not in (
            ".json",
            ".tsv",
        ):
            raise InputError(f"--export-cues {self.export_cues}: use a .json or .tsv file name")

    @property
    def upstream_preprocess(self) -> str:
        """The preprocess name upstream SadTalker understands (extreme_crop → extcrop)."""
        return PREPROCESS_ALIASES.get(self.preprocess, self.preprocess)

    def differs_from_default(self) -> dict[str, Any]:
        """Top-level fields set to something other than their default (used to log ignored flags)."""
        changed: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            default = (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            )
            value = getattr(self, f.name)
            if value != default:
                changed[f.name] = value
        return changed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of every option."""
        data = dataclasses.asdict(self)
        data["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        data["export_cues"] = str(self.export_cues) if self.export_cues else None
        data["save_audio"] = str(self.save_audio) if self.save_audio else None
        return data
