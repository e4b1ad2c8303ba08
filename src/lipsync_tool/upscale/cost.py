"""What `--upscaler realesrgan` adds to a render: the pixels the network reads, and their seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..machine import default_workers, threads
from .enlarge import MIN_LEARNED_FACTOR, VIDEO_LINES, WHOLE_IMAGE_PIXELS
from .tiles import read_pixels

SECONDS_PER_PIXEL = 0.145e-3
"""Real-ESRGAN x4plus on ncnn with 2 threads, per pixel the network reads (tiles with their
padding; bench_upscale: a 256 px frame 14.5 s, a 58x96 mouth 0.96 s; 2-core Intel Xeon and AMD
EPYC alike)."""
MEMORY_MB = 750.0
"""The network and one tile's working memory, over the render's own."""
HEAD_SHARE = 0.55
"""The head region's share of a larger portrait's pixels (0.29 of the astronaut, 0.79 of Grace
Hopper's portrait)."""


@dataclass(frozen=True)
class LearnedWork:
    """The pixels the network reads in one render: once (the portrait), and for every frame."""

    once: int = 0
    per_frame: int = 0
    per_frame_part: str = "every frame"
    """What the per-frame pixels are, for a dry run's note."""

    def seconds(self, frames: int) -> float:
        """Seconds on this machine's threads for a render of `frames` frames."""
        pixels = self.once + self.per_frame * frames
        return pixels * SECONDS_PER_PIXEL * 2 / threads(default_workers())


def learned_pixels(width: int, height: int) -> int:
    """The pixels the network reads (tile padding included) to enlarge a `width` x `height`
    picture to 1080 lines: the whole of a small one, the head of a larger one (taken as a square of
    `HEAD_SHARE` of its pixels: a header tells no more), none when it is nearly that tall."""
    if VIDEO_LINES / height < MIN_LEARNED_FACTOR:
        return 0
    if width * height <= WHOLE_IMAGE_PIXELS:
        return read_pixels(width, height)
    side = round(math.sqrt(HEAD_SHARE * width * height))
    return read_pixels(side, side)


def portrait_size(portrait: Path) -> tuple[int, int]:
    """The portrait's (width, height), from its header."""
    from PIL import Image

    with Image.open(portrait) as image:  # reads the header only
        return image.size
