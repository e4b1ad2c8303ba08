"""Face-aligned coordinates and pixel boxes around face landmarks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .topology import CHIN, FOREHEAD_TOP, LOWER_LIP_INNER_MID, UPPER_LIP_INNER_MID


@dataclass(frozen=True)
class FaceFrame:
    """Coordinates aligned with the face: `down` from forehead to chin, `right` across, unit = face height."""

    mouth: np.ndarray
    down: np.ndarray
    right: np.ndarray
    height: float

    @classmethod
    def from_points(cls, points: np.ndarray) -> FaceFrame:
        top, chin = points[FOREHEAD_TOP], points[CHIN]
        axis = chin - top
        height = float(np.hypot(*axis))
        down = axis / height
        right = np.array([down[1], -down[0]])
        mouth = (points[UPPER_LIP_INNER_MID] + points[LOWER_LIP_INNER_MID]) / 2
        return cls(mouth, down, right, height)

    def local(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u across, v down) of `points` relative to the mouth centre, in face heights."""
        rel = points - self.mouth
        return rel @ self.right / self.height, rel @ self.down / self.height


@dataclass(frozen=True)
class Roi:
    """Integer pixel box x0:x1, y0:y1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def size(self) -> tuple[int, int]:
        return self.x1 - self.x0, self.y1 - self.y0

    @classmethod
    def around(cls, polygon: np.ndarray, shape: tuple[int, ...], margin: int) -> Roi:
        """The box around `polygon` grown by `margin`, clipped to an image of `shape`."""
        x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + margin
        height, width = shape[:2]
        return cls(max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1)))


def feather_mask(region: np.ndarray, roi: Roi, sigma: float) -> np.ndarray:
    """1 inside the region, fading smoothly to 0 at its edge, on the ROI's pixel grid."""
    width, height = roi.size
    hard = np.zeros((height, width), np.float32)
    cv2.fillPoly(hard, [np.round(region - (roi.x0, roi.y0)).astype(np.int32)], 1.0)
    shrunk = cv2.erode(hard, np.ones((3, 3), np.uint8), iterations=max(1, int(sigma)))
    return cv2.GaussianBlur(shrunk, (0, 0), sigma)
