"""The mouth: jaw, lips and corners moved by a region warp, and the parted lips filled with an interior."""

from __future__ import annotations

import cv2
import numpy as np

from ...face.topology import LIPS_INNER, LIPS_OUTER, UPPER_LIP_INNER_MID
from .geometry import (
    FaceFrame,
    anchor_ring,
    jaw_open_displacements,
    lip_press_displacements,
    lip_stretch_displacements,
    smooth_loop,
    warp_region,
)
from .region_warp import RegionWarp, Roi

JAW_DROP = 0.065  # lower-lip travel at full opening, in face heights
LIP_STRETCH = 0.035  # sideways travel of each lip corner at full spread, in face heights


class MouthWarp:
    """Animates one portrait's mouth: `frame(opening, width, close)` returns the portrait in that pose."""

    def __init__(self, image: np.ndarray, points: np.ndarray, amplitude: float = 1.0) -> None:
        self.image = image
        self.points = points[:, :2].astype(np.float64)
        self.face = FaceFrame.from_points(self.points)
        scale = amplitude * self.face.height
        shifts = {
            "open": jaw_open_displacements(self.points, self.face) * (JAW_DROP * scale),
            "width": lip_stretch_displacements(self.points, self.face) * (LIP_STRETCH * scale),
            "close": lip_press_displacements(self.points, self.face) * self.face.height,
        }
        region = warp_region(self.points, self.face)
        sigma = max(2.0, 0.05 * self.face.height)
        anchors = anchor_ring(self.points, self.face)
        self.warp = RegionWarp(image.shape, self.points, shifts, anchors, region, sigma)
        self.roi = self.warp.roi
        self.inner_loop = list(LIPS_INNER)
        self.interior = MouthInterior(image, self.points, self.inner_loop)

    @staticmethod
    def _weights(opening: float, width: float, close: float) -> dict[str, float]:
        return {"open": opening, "width": width, "close": close}

    def frame(self, opening: float, width: float = 0.0, close: float = 0.0) -> np.ndarray:
        """The portrait with the jaw opened by `opening` in [0, 1], the lips spread by `width`
        in [-1, 1] (negative: rounded) and the portrait's own parted lips pressed shut by `close`."""
        weights = self._weights(opening, width, close)
        out = self.image.copy()
        if not self.warp.apply(self.image, out, weights):
            return self.image
        moved = self.warp.moved(self.points, weights)
        upper_shift = moved[UPPER_LIP_INNER_MID] - self.points[UPPER_LIP_INNER_MID]
        self.interior.paint(out, smooth_loop(moved[self.inner_loop]), upper_shift)
        return out

    def mouth_opening_polygon(self, opening: float, width: float = 0.0, close: float = 0.0) -> np.ndarray:
        """The inner-lip contour (K, 2) in output pixels for this pose."""
        return smooth_loop(self.warp.moved(self.points, self._weights(opening, width, close))[self.inner_loop])


def _polygon_mask(polygon: np.ndarray, box: Roi, supersample: int = 4) -> np.ndarray:
    """Anti-aliased coverage (0..1 float32) of `polygon` on the pixels of `box`."""
    width, height = box.size
    big = np.zeros((height * supersample, width * supersample), np.uint8)
    pts = np.round((polygon - (box.x0, box.y0)) * supersample + (supersample - 1) / 2).astype(np.int32)
    cv2.fillPoly(big, [pts], 255, lineType=cv2.LINE_AA)
    return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


class MouthInterior:
    """Fills the parted lips: the portrait's own visible mouth (teeth) moved with the upper jaw, over a shaded cavity."""

    def __init__(self, image: np.ndarray, points: np.ndarray, inner_loop: list[int]) -> None:
        outer = np.round(points[list(LIPS_OUTER)]).astype(np.int32)
        lips = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(lips, [outer], 255)
        pixels = image[lips > 0]
        self.lip = (np.median(pixels, axis=0) if len(pixels) else np.array([150.0, 80.0, 80.0])).astype(np.float32)
        self.image = image
        polygon = points[inner_loop]
        self.source_box = Roi.around(polygon, image.shape, margin=2)
        coverage = _polygon_mask(polygon, self.source_box)
        self.source_mask = coverage if coverage.sum() > 4.0 else None

    def paint(self, frame: np.ndarray, polygon: np.ndarray, upper_shift: np.ndarray) -> None:
        """Paint inside `polygon` (the parted inner lips, output pixels), in place."""
        box = Roi.around(polygon, frame.shape, margin=2)
        width, height = box.size
        if width < 2 or height < 2:
            return
        coverage = _polygon_mask(polygon, box)
        if coverage.max() <= 0:
            return
        fill = self._cavity(coverage)
        alpha = coverage
        if self.source_mask is not None:
            kept, kept_alpha = self._own_mouth(box, upper_shift)
            fill = fill * (1 - kept_alpha[..., None]) + kept * kept_alpha[..., None]
        patch = frame[box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)
        blended = patch * (1 - alpha[..., None]) + fill * alpha[..., None]
        frame[box.y0 : box.y1, box.x0 : box.x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)

    def _cavity(self, coverage: np.ndarray) -> np.ndarray:
        """Dark oral cavity: darkest under the upper lip, warmer towards the tongue, lighter at the lips."""
        inside = (coverage > 0.5).astype(np.uint8)
        depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
        edge_glow = 1.0 - np.clip(depth / 3.0, 0.0, 1.0)
        rows = np.nonzero(inside.any(axis=1))[0]
        top, bottom = (rows[0], rows[-1]) if len(rows) else (0, coverage.shape[0] - 1)
        y = np.clip((np.arange(coverage.shape[0]) - top) / max(bottom - top, 1), 0, 1)[:, None]
        tongue = np.array([0.55, 0.28, 0.28], np.float32) * self.lip.mean() / 255 * 255
        deep = self.lip * 0.10
        base = deep * (1 - y[..., None] * 0.6) + tongue * 0.35 * (y[..., None] ** 2)
        return base * (1 - edge_glow[..., None] * 0.5) + self.lip * 0.45 * edge_glow[..., None]

    def _own_mouth(self, box: Roi, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The portrait's visible mouth interior, moved by `shift`, on the pixels of `box`."""
        src = self.source_box
        matrix = np.float32([[1, 0, src.x0 + shift[0] - box.x0], [0, 1, src.y0 + shift[1] - box.y0]])
        patch = self.image[src.y0 : src.y1, src.x0 : src.x1].astype(np.float32)
        size = box.size
        moved = cv2.warpAffine(patch, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        mask = cv2.warpAffine(self.source_mask, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return moved, mask
