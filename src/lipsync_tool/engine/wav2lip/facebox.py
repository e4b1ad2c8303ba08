"""The face box Wav2Lip crops: from the pipeline's MediaPipe face, padded and smoothed with upstream's arithmetic.

Boxes are (x1, y1, x2, y2) integer pixel edges, x2/y2 exclusive, as numpy slices take them.
Upstream Wav2Lip pads an S3FD detection by `--pads top bottom left right`, clips it to the
image, and smooths the boxes of consecutive frames by a 5-frame running mean on an integer
array (so each mean is truncated). The functions below reproduce that arithmetic exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ...errors import InputError
from ...face.topology import CHIN

if TYPE_CHECKING:
    from ...face.analyzer import PortraitFace

Box = tuple[int, int, int, int]
SMOOTH_FRAMES = 5
"""Upstream's smoothing window (`get_smoothened_boxes(boxes, T=5)`)."""


def detected_rect(face: PortraitFace) -> Box:
    """The unpadded face box of a MediaPipe face, shaped like upstream's S3FD box.

    S3FD's box runs from the brow line to just below the chin; MediaPipe's detector box stops
    around the chin. Its left, top and right edges are kept and the bottom is lowered to the
    face mesh's chin point when that lies lower, so `--wav2lip-pads` means what it does upstream.
    """
    box = face.box
    chin = float(face.landmarks.points[CHIN, 1])
    bottom = max(box.y1, chin)
    return int(round(box.x0)), int(round(box.y0)), int(round(box.x1)), int(round(bottom))


def pad_box(rect: Box, pads: Sequence[int], shape: Sequence[int]) -> Box:
    """Upstream's padding: pads are (top, bottom, left, right); the result is clipped to the image (h, w, ...)."""
    pad_top, pad_bottom, pad_left, pad_right = pads
    height, width = int(shape[0]), int(shape[1])
    x1, y1, x2, y2 = rect
    return (
        max(0, x1 - pad_left),
        max(0, y1 - pad_top),
        min(width, x2 + pad_right),
        min(height, y2 + pad_bottom),
    )


def smooth_boxes(boxes: np.ndarray, window: int = SMOOTH_FRAMES) -> np.ndarray:
    """Upstream's running mean over `window` frames, in place on a copy of an integer (n, 4) array.

    Box i becomes the mean of boxes i..i+window-1; the last ones, where that runs past the end,
    take the mean of the final `window` boxes, already smoothed ones included (as upstream does).
    """
    out = np.array(boxes, dtype=np.int64, copy=True)
    for i in range(len(out)):
        chunk = out[len(out) - window :] if i + window > len(out) else out[i : i + window]
        out[i] = np.mean(chunk, axis=0)
    return out


def face_boxes(
    rects: Sequence[Box], pads: Sequence[int], shape: Sequence[int], *, nosmooth: bool
) -> list[Box]:
    """Padded (and, unless `nosmooth`, smoothed) boxes of consecutive frames of one image size."""
    padded = np.array([pad_box(rect, pads, shape) for rect in rects], dtype=np.int64).reshape(-1, 4)
    if not nosmooth:
        padded = smooth_boxes(padded)
    return [tuple(int(v) for v in row) for row in padded]  # type: ignore[misc]


def manual_box(crop: Sequence[int], shape: Sequence[int]) -> Box:
    """A --wav2lip-crop box X1 Y1 X2 Y2 checked against the image (h, w); upstream's --box, so no padding."""
    x1, y1, x2, y2 = (int(v) for v in crop)
    height, width = int(shape[0]), int(shape[1])
    if x2 > width or y2 > height:
        raise InputError(
            f"--wav2lip-crop {x1} {y1} {x2} {y2} reaches outside the {width}x{height} portrait; "
            f"give X1 Y1 X2 Y2 with X2 <= {width} and Y2 <= {height}"
        )
    if x2 - x1 < 8 or y2 - y1 < 8:
        raise InputError(
            f"--wav2lip-crop {x1} {y1} {x2} {y2} is smaller than 8x8 pixels; give the box around the face"
        )
    return x1, y1, x2, y2


def scale_box(box: Box, factor: float) -> Box:
    """`box` in an image scaled by `factor` (edges floored, at least one pixel wide and high)."""
    x1, y1, x2, y2 = (int(np.floor(v * factor)) for v in box)
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


__all__ = [
    "SMOOTH_FRAMES",
    "Box",
    "detected_rect",
    "face_boxes",
    "manual_box",
    "pad_box",
    "scale_box",
    "smooth_boxes",
]
