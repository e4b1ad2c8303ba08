"""The sadtalker engine's per-render options (each render is a fresh upstream process)."""

from __future__ import annotations

from dataclasses import dataclass

from ...option_specs import option, validate

RESOLUTION_CHOICES = (256, 512)
PREPROCESS_CHOICES = ("crop", "extcrop", "extreme_crop", "resize", "full", "extfull")
PREPROCESS_ALIASES = {"extreme_crop": "extcrop"}
ENHANCER_CHOICES = ("gfpgan", "RestoreFormer")


@dataclass(frozen=True)
class SadTalkerOptions:
    """Options of the sadtalker engine (upstream's --size, --preprocess, --enhancer, --batch_size)."""

    resolution: int = option(256, "face render size", choices=RESOLUTION_CHOICES)
    """Face render size (upstream --size): 256 or 512."""
    preprocess: str = option(
        "crop", "how the portrait is cropped (extreme_crop = extcrop)", choices=PREPROCESS_CHOICES
    )
    """Upstream preprocessing; extreme_crop is an alias of extcrop."""
    enhancer: str | None = option(None, "face enhancer", kind=str, choices=ENHANCER_CHOICES)
    """Face enhancer: gfpgan or RestoreFormer (refused: no verifiable download); None: none."""
    batch_size: int = option(
        2,
        "face-renderer batch: larger is faster, needs more GPU memory",
        flag="--sadtalker-batch-size",
        minimum=1,
        maximum=64,
        metavar="N",
    )
    """Face-renderer batch (upstream --batch_size)."""

    def __post_init__(self) -> None:
        validate(self)

    @property
    def upstream_preprocess(self) -> str:
        """The preprocess name upstream understands (extreme_crop → extcrop)."""
        return PREPROCESS_ALIASES.get(self.preprocess, self.preprocess)
