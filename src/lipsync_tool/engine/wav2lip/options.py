"""The wav2lip engine's settings (a reload when changed) and per-render options; flags --wav2lip-*."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InputError
from ...option_specs import option, validate

PREFIX = "wav2lip-"
CHECKPOINT_CHOICES = ("gan", "base")
IMPL_CHOICES = ("native", "upstream")


@dataclass(frozen=True)
class Wav2LipSettings:
    """What a Renderer loads once: the generator's checkpoint and which inference runs it."""

    checkpoint: str = option(
        "gan",
        "generator checkpoint: gan (wav2lip_gan.pth), base (wav2lip.pth) or a .pth/.pt file",
        choices=CHECKPOINT_CHOICES,
        open_choices=True,
        metavar="{gan,base,PATH}",
    )
    """"gan" (wav2lip_gan.pth), "base" (wav2lip.pth), or the path of a .pth/.pt file."""
    impl: str = option(
        "native",
        "native: our own PyTorch inference; upstream: the pinned repository's inference.py",
        choices=IMPL_CHOICES,
    )
    """"native" (our PyTorch code) or "upstream" (the pinned repository's inference.py)."""

    def __post_init__(self) -> None:
        validate(self, PREFIX)
        if not str(self.checkpoint).strip():
            raise InputError(
                "--wav2lip-checkpoint is empty; give gan, base or the path of a checkpoint file"
            )


@dataclass(frozen=True)
class Wav2LipOptions:
    """Per-render options of the wav2lip engine."""

    pads: tuple[int, int, int, int] = option(
        (0, 10, 0, 0), "padding of the face box in pixels", metavar=("T", "B", "L", "R")
    )
    """Padding around the detected face box in pixels: top, bottom, left, right (upstream's order)."""
    static: bool | None = option(
        None,
        "use only the first frame of the face input (--wav2lip-no-static: every frame)",
        both_ways=True,
    )
    """Use only the first frame of the face input; None: decide from the input (a still is static)."""
    nosmooth: bool = option(False, "do not smooth the face box over 5 frames")
    """Do not smooth the face box over 5 frames."""
    batch_size: int | None = option(
        None, "generator batch size (default: 128 on CUDA, 16 on the CPU)", kind=int, minimum=1
    )
    """Generator batch size (an upper bound); None: 128 on CUDA, 16 on the CPU."""
    face_det_batch_size: int = option(16, "face detection batch size (upstream mode)", minimum=1)
    """Face-detection batch size of upstream mode (a still portrait's face is detected once)."""
    resize_factor: int = option(
        1, "take the face crop from the portrait downscaled by this factor", minimum=1
    )
    """Downscale the face input by this factor before inference (the video keeps full size)."""
    crop: tuple[int, int, int, int] | None = option(
        None, "face box by hand, in portrait pixels", kind=int, metavar=("X1", "Y1", "X2", "Y2")
    )
    """Face box set by hand, X1 Y1 X2 Y2 in portrait pixels; None: detect it."""

    def __post_init__(self) -> None:
        if len(self.pads) != 4:
            raise InputError("--wav2lip-pads takes four integers: TOP BOTTOM LEFT RIGHT")
        validate(self, PREFIX)
        if self.crop is not None:
            if len(self.crop) != 4:
                raise InputError("--wav2lip-crop takes four integers: X1 Y1 X2 Y2")
            x1, y1, x2, y2 = self.crop
            if x2 <= x1 or y2 <= y1 or min(x1, y1) < 0:
                raise InputError(
                    "--wav2lip-crop takes X1 Y1 X2 Y2 with 0 <= X1 < X2 and 0 <= Y1 < Y2"
                )
