"""A portrait enlarged to the size a render draws at: bicubic, or bicubic with Real-ESRGAN's detail.

Real-ESRGAN's own output is sharp but strays from the photo: against ground truth it scores lower
than bicubic (PSNR and SSIM, the upper face included), smooths skin to wax and invents eyes and
teeth on small faces. What bicubic lacks is only the finest scale. So the network's detail at that
scale (its output less a 1 px blur of it) is added, at three quarters strength, to the bicubic
image: against ground truth its SSIM, the upper face's included, is within 0.005 of bicubic's or
above it, and it is 2.8 to 5.3 times sharper (docs/benchmarks.md).

The learned pass costs time in proportion to the pixels it reads (about 0.23 ms a pixel on two
CPU cores). A small portrait is read whole; of a larger one only the head (forehead to neck, ear
to ear, where a viewer looks), blended into the bicubic rest over a soft edge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..face.frame import FaceFrame, Roi
from ..media.encode import OUTPUT_LINES

if TYPE_CHECKING:
    from .realesrgan import RealEsrgan

MIN_LEARNED_FACTOR = 1.25
"""Enlargements below this are bicubic whatever the upscaler: the network's detail would be
averaged away again when its 4x output is shrunk that far."""
HEAD_MARGIN = (1.0, 0.9, 0.7)
"""The head region around the face, in face heights: to each side, above the face frame's top,
below its chin."""
WHOLE_IMAGE_PIXELS = 256 * 256
"""Portraits up to this many pixels are enlarged whole by the network (some 13 s on two cores):
no change of sharpness at the head's edge."""
DETAIL_SIGMA = 1.0
"""The blur (px of the enlarged image) whose difference from the network's output is its detail."""
DETAIL_GAIN = 0.75
"""How much of that detail is added to the bicubic image (0.5 scores above bicubic on every
ground-truth measure but looks little sharper; 1.0 lowers the upper face's SSIM by 0.013)."""
FEATHER = 0.04
"""The soft edge of the learned region, in face heights."""
VIDEO_LINES = OUTPUT_LINES
VIDEO_WIDTH = 1920
"""The widest video a render draws (a 16:9 frame at 1080 lines)."""


def head_region(points: np.ndarray, shape: tuple[int, ...]) -> Roi:
    """The head of the face with these (468, 2+) landmarks, clipped to an image of `shape`."""
    xy = points[:, :2].astype(np.float64)
    face = FaceFrame.from_points(xy)
    side, above, below = (m * face.height for m in HEAD_MARGIN)
    box = np.array(
        [
            [xy[:, 0].min() - side, xy[:, 1].min() - above],
            [xy[:, 0].max() + side, xy[:, 1].max() + below],
        ]
    )
    return Roi.around(box, shape, margin=0)


def video_scale(width: int, height: int) -> float:
    """The scale that takes a `width` x `height` picture to the video's size (1080 lines, at most
    1920 columns), never below 1: what a learned upscaler enlarges to."""
    return max(1.0, min(VIDEO_LINES / height, VIDEO_WIDTH / width))


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """(width, height) times `scale`, rounded, at least 2 px each."""
    return max(2, round(width * scale)), max(2, round(height * scale))


def learned_detail(image: np.ndarray, size: tuple[int, int], learned: RealEsrgan) -> np.ndarray:
    """The network's detail of `image` at `size` (width, height): its 4x output taken to `size`
    less a `DETAIL_SIGMA` blur of it, float32, to be added to a plain enlargement."""
    big = learned.enlarge(image)
    shrink = cv2.INTER_AREA if size[1] <= big.shape[0] else cv2.INTER_CUBIC
    patch = cv2.resize(big, size, interpolation=shrink).astype(np.float32)
    return patch - cv2.GaussianBlur(patch, (0, 0), DETAIL_SIGMA)


def enlarge(
    image: np.ndarray,
    size: tuple[int, int],
    learned: RealEsrgan | None = None,
    points: np.ndarray | None = None,
    whole_up_to: int = WHOLE_IMAGE_PIXELS,
) -> np.ndarray:
    """`image` at `size` (width, height; larger than it): bicubic, and with `learned` the network's
    fine detail added: over all of it without the face's `points` or up to `whole_up_to` pixels,
    else over its head region."""
    width, height = image.shape[1], image.shape[0]
    bicubic = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    factor = size[1] / height
    if learned is None or factor < MIN_LEARNED_FACTOR:
        return bicubic
    if points is None or width * height <= whole_up_to:
        roi = Roi(0, 0, width, height)
    else:
        roi = head_region(points, image.shape)
    sx, sy = size[0] / width, size[1] / height
    target = Roi(round(roi.x0 * sx), round(roi.y0 * sy), round(roi.x1 * sx), round(roi.y1 * sy))
    detail = learned_detail(image[roi.y0 : roi.y1, roi.x0 : roi.x1], target.size, learned)
    if target.size == (size[0], size[1]):
        alpha = np.ones(detail.shape[:2], np.float32)
    else:
        assert points is not None
        face_height = FaceFrame.from_points(points[:, :2].astype(np.float64)).height * factor
        alpha = _edge_ramp(target, size, max(2.0, FEATHER * face_height))
    out = bicubic.copy()
    base = out[target.y0 : target.y1, target.x0 : target.x1].astype(np.float32)
    sharpened = base + DETAIL_GAIN * alpha[..., None] * detail
    out[target.y0 : target.y1, target.x0 : target.x1] = np.clip(sharpened + 0.5, 0, 255).astype(
        np.uint8
    )
    return out


def _edge_ramp(roi: Roi, size: tuple[int, int], width: float) -> np.ndarray:
    """1 inside `roi`, ramping to 0 over `width` px at each edge that is not the image's own."""
    w, h = roi.size

    def ramp(count: int, at_start: bool, at_end: bool) -> np.ndarray:
        index = np.arange(count, dtype=np.float32) + 0.5
        out = np.ones(count, np.float32)
        if not at_start:
            out = np.minimum(out, index / width)
        if not at_end:
            out = np.minimum(out, (count - index) / width)
        return np.clip(out, 0.0, 1.0)

    across = ramp(w, roi.x0 == 0, roi.x1 == size[0])
    down = ramp(h, roi.y0 == 0, roi.y1 == size[1])
    return down[:, None] * across[None, :]
