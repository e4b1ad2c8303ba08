"""A network that enlarges an image, run over it in tiles: memory stays that of one tile.

Each tile is read with `pad` pixels of its surroundings, which are cut off the result again, so a
tile's edge sees the same context as its middle and no seam shows where tiles meet.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TILE = 64
"""Input pixels per tile side. Real-ESRGAN x4plus on ncnn's CPU runtime needs about 0.45 GB of
working memory for a 64 px tile with its padding, 1.2 GB at 128 px, and is no faster for it."""
PAD = 10
"""Context pixels read around each tile and cut away after."""


def run_tiled(
    image: np.ndarray,
    run: Callable[[np.ndarray], np.ndarray],
    scale: int,
    tile: int = TILE,
    pad: int = PAD,
) -> np.ndarray:
    """`run` (an RGB uint8 image → float32 RGB `scale` times larger) over `image`, tile by tile."""
    height, width = image.shape[:2]
    out = np.empty((height * scale, width * scale, 3), np.float32)
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            top, left = max(0, y0 - pad), max(0, x0 - pad)
            bottom, right = min(height, y1 + pad), min(width, x1 + pad)
            result = run(np.ascontiguousarray(image[top:bottom, left:right]))
            oy, ox = (y0 - top) * scale, (x0 - left) * scale
            out[y0 * scale : y1 * scale, x0 * scale : x1 * scale] = result[
                oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ]
    return out
