"""The resolution the mouth is drawn at: the frame's own, or a supersampled crop when the face is small.

A mouth warp on a face 90 px tall moves lips a few pixels on a 4 px grid, and the lip seam, teeth
and cavity it paints are a pixel or two thick; drawn at a face height of `SMALL_FACE` px and scaled
back, the same poses read as clearly as they do on a large face.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...face.frame import FaceFrame, Roi, feather_mask
from ...upscale.enlarge import VIDEO_LINES, VIDEO_WIDTH
from .mouth_warp import MouthWarp

MAX_RENDER_LINES = VIDEO_LINES
MAX_RENDER_WIDTH = VIDEO_WIDTH
SMALL_FACE = 200  # px forehead to chin below which the mouth is drawn supersampled
MAX_SUPERSAMPLE = 4.0


def render_scale(width: int, height: int) -> float:
    """Scale that caps the render at 1080 lines and 1920 columns; portraits are never enlarged."""
    return min(1.0, MAX_RENDER_LINES / height, MAX_RENDER_WIDTH / width)


def frame_scale(width: int, height: int, face_height: float, upscale: bool) -> float:
    """Scale of the rendered frames: `render_scale`, or, for a small face in a video that will be
    scaled to 1080 lines anyway (`upscale`), enlarged until the face is `SMALL_FACE` px tall (within
    the same caps), so the frames carry detail that a later upscale could only blur."""
    scale = render_scale(width, height)
    if not upscale or face_height * scale >= SMALL_FACE:
        return scale
    cap = min(MAX_RENDER_LINES / height, MAX_RENDER_WIDTH / width)
    return max(scale, min(SMALL_FACE / face_height, cap))


def supersample_factor(face_height: float) -> float:
    """How much larger than the frame the mouth is drawn: 1 for faces of `SMALL_FACE` px and more."""
    return float(np.clip(SMALL_FACE / max(face_height, 1.0), 1.0, MAX_SUPERSAMPLE))


class SupersampledMouth:
    """A `MouthWarp` on an enlarged crop of the lower face; each frame is scaled back into the portrait.

    Only the warp's own region is blended back (with the warp's feathered mask), so every pixel
    outside it stays the portrait's own, byte for byte.
    """

    def __init__(
        self, image: np.ndarray, points: np.ndarray, amplitude: float, factor: float
    ) -> None:
        self.image = image
        region, sigma = MouthWarp.region_of(points[:, :2].astype(np.float64))
        roi = Roi.around(region, image.shape, margin=int(4 * sigma) + 2)
        self.roi = roi
        width, height = roi.size
        big_size = (round(width * factor), round(height * factor))
        self.scale = (big_size[0] / width, big_size[1] / height)
        crop = image[roi.y0 : roi.y1, roi.x0 : roi.x1]
        big = cv2.resize(crop, big_size, interpolation=cv2.INTER_CUBIC)
        local = np.array(points, dtype=np.float64, copy=True)
        local[:, 0] = (local[:, 0] - roi.x0 + 0.5) * self.scale[0] - 0.5
        local[:, 1] = (local[:, 1] - roi.y0 + 0.5) * self.scale[1] - 0.5
        if local.shape[1] > 2:
            local[:, 2] *= factor
        self.inner = MouthWarp(big, local, amplitude=amplitude)
        inner_roi = self.inner.warp.roi
        mask = np.zeros(big.shape[:2], np.float32)
        mask[inner_roi.y0 : inner_roi.y1, inner_roi.x0 : inner_roi.x1] = feather_mask(
            self.inner.region, inner_roi, self.inner.sigma
        )
        self.alpha = cv2.resize(mask, (width, height), interpolation=cv2.INTER_AREA)[..., None]
        self.face = FaceFrame.from_points(points[:, :2].astype(np.float64))

    def frame(
        self,
        opening: float,
        width: float = 0.0,
        close: float = 0.0,
        tuck: float = 0.0,
        tongue: float = 0.0,
    ) -> np.ndarray:
        """The portrait in this pose (see `MouthWarp.frame`)."""
        big = self.inner.frame(opening, width, close, tuck, tongue)
        if big is self.inner.image:
            return self.image
        roi = self.roi
        small = cv2.resize(big, roi.size, interpolation=cv2.INTER_AREA).astype(np.float32)
        out = self.image.copy()
        patch = out[roi.y0 : roi.y1, roi.x0 : roi.x1].astype(np.float32)
        blended = patch * (1.0 - self.alpha) + small * self.alpha
        out[roi.y0 : roi.y1, roi.x0 : roi.x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out


def mouth_for(
    image: np.ndarray, points: np.ndarray, amplitude: float
) -> MouthWarp | SupersampledMouth:
    """The mouth animator for this frame size: supersampled when the face is small."""
    face_height = FaceFrame.from_points(points[:, :2].astype(np.float64)).height
    factor = supersample_factor(face_height)
    if factor <= 1.05:
        return MouthWarp(image, points, amplitude=amplitude)
    return SupersampledMouth(image, points, amplitude, factor)
