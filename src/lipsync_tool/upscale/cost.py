"""What `--upscaler realesrgan` adds to a warp render, from the portrait's header alone."""

from __future__ import annotations

from pathlib import Path

from ..machine import default_workers, threads
from .enlarge import MIN_LEARNED_FACTOR, WHOLE_IMAGE_PIXELS

SECONDS_PER_PIXEL = 0.23e-3
"""Real-ESRGAN x4plus on ncnn with 2 threads, per portrait pixel read (bench_upscale, 2-core
Intel Xeon)."""
MEMORY_MB = 750.0
"""The network and one tile's working memory, over the render's own."""
HEAD_SHARE = 0.55
"""The head region's share of a larger portrait's pixels (0.29 of the astronaut, 0.79 of Grace
Hopper's portrait)."""
OUTPUT_LINES = 1080


def learned_pixels(width: int, height: int) -> int:
    """The portrait pixels the network reads when a render enlarges a `width` x `height` portrait
    to 1080 lines (none when it is nearly that tall already)."""
    if OUTPUT_LINES / height < MIN_LEARNED_FACTOR:
        return 0
    pixels = width * height
    return pixels if pixels <= WHOLE_IMAGE_PIXELS else round(HEAD_SHARE * pixels)


def learned_seconds(portrait: Path) -> float:
    """Seconds Real-ESRGAN adds to a render of `portrait` on this machine's threads."""
    from PIL import Image

    with Image.open(portrait) as image:  # reads the header only
        width, height = image.size
    return learned_pixels(width, height) * SECONDS_PER_PIXEL * 2 / threads(default_workers())
