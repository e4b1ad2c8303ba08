"""Per-frame mouth animation: a precomputed displacement field scaled by the opening, and a painted interior."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...face.topology import LIPS_INNER, LIPS_OUTER, UPPER_LIP_INNER_MID
from .geometry import FaceFrame, anchor_ring, jaw_open_displacements, smooth_loop, warp_region
from .tps import ThinPlateSpline

GRID_STEP = 4  # the field is evaluated every 4 px and interpolated: smooth fields need no more
JAW_DROP = 0.065  # lower-lip travel at full opening, in face heights
INVERSION_STEPS = 2


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


def _region_roi(region: np.ndarray, shape: tuple[int, ...], margin: int) -> Roi:
    x0, y0 = np.floor(region.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(region.max(axis=0)).astype(int) + margin
    height, width = shape[:2]
    return Roi(max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1)))


def _feather_mask(region: np.ndarray, roi: Roi, sigma: float) -> np.ndarray:
    """1 inside the region, fading smoothly to 0 at its edge, on the ROI's pixel grid."""
    width, height = roi.size
    hard = np.zeros((height, width), np.float32)
    cv2.fillPoly(hard, [np.round(region - (roi.x0, roi.y0)).astype(np.int32)], 1.0)
    shrunk = cv2.erode(hard, np.ones((3, 3), np.uint8), iterations=max(1, int(sigma)))
    return cv2.GaussianBlur(shrunk, (0, 0), sigma)


class MouthWarp:
    """Animates one portrait's mouth: `frame(opening)` returns the portrait with the jaw opened that much."""

    def __init__(self, image: np.ndarray, points: np.ndarray, amplitude: float = 1.0) -> None:
        self.image = image
        self.points = points[:, :2].astype(np.float64)
        self.face = FaceFrame.from_points(self.points)
        drop = JAW_DROP * amplitude * self.face.height
        self.landmark_shift = jaw_open_displacements(self.points, self.face) * drop
        region = warp_region(self.points, self.face)
        sigma = max(2.0, 0.05 * self.face.height)
        self.roi = _region_roi(region, image.shape, margin=int(3 * sigma))
        self.field = self._coarse_field(region, sigma)
        width, height = self.roi.size
        self._pixel_grid = np.meshgrid(
            np.arange(self.roi.x0, self.roi.x0 + width, dtype=np.float32),
            np.arange(self.roi.y0, self.roi.y0 + height, dtype=np.float32),
        )
        self.inner_loop = list(LIPS_INNER)
        self.interior = MouthInterior(image, self.points, self.inner_loop)

    def _coarse_field(self, region: np.ndarray, sigma: float) -> np.ndarray:
        anchors = anchor_ring(self.points, self.face)
        controls = np.vstack([self.points, anchors])
        values = np.vstack([self.landmark_shift, np.zeros_like(anchors)])
        spline = ThinPlateSpline(controls, values)
        xx, yy = self._node_pixels()
        gh, gw = xx.shape
        field = spline(np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(gh, gw, 2)
        mask = _feather_mask(region, self.roi, sigma)
        padded = np.zeros((gh * GRID_STEP, gw * GRID_STEP), np.float32)
        padded[: mask.shape[0], : mask.shape[1]] = mask
        coarse_mask = cv2.resize(padded, (gw, gh), interpolation=cv2.INTER_AREA)
        return (field * coarse_mask[..., None]).astype(np.float32)

    def _node_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel positions of the coarse grid's nodes: node k covers pixels k*STEP … k*STEP+STEP-1."""
        width, height = self.roi.size
        gw, gh = -(-width // GRID_STEP), -(-height // GRID_STEP)
        centre = (GRID_STEP - 1) / 2
        gx = np.arange(gw) * GRID_STEP + centre + self.roi.x0
        gy = np.arange(gh) * GRID_STEP + centre + self.roi.y0
        return np.meshgrid(gx, gy)

    def _source_map(self, opening: float) -> tuple[np.ndarray, np.ndarray]:
        """For each output pixel of the ROI, the portrait pixel it shows (inverse of the forward field)."""
        field = self.field * opening
        gh, gw = field.shape[:2]
        grid_x, grid_y = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
        src_x, src_y = grid_x - field[..., 0] / GRID_STEP, grid_y - field[..., 1] / GRID_STEP
        for _ in range(INVERSION_STEPS - 1):
            at_src = cv2.remap(field, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            src_x, src_y = grid_x - at_src[..., 0] / GRID_STEP, grid_y - at_src[..., 1] / GRID_STEP
        # Upsample the displacement, not absolute positions: it is zero at the ROI's edge, so the
        # edge clamping of cv2.resize cannot shift border pixels. Node k sits at pixel k*STEP + (STEP-1)/2,
        # which is exactly where cv2.resize's centre-aligned upsampling puts it.
        size = (gw * GRID_STEP, gh * GRID_STEP)
        shift_x = cv2.resize((src_x - grid_x) * GRID_STEP, size, interpolation=cv2.INTER_LINEAR)
        shift_y = cv2.resize((src_y - grid_y) * GRID_STEP, size, interpolation=cv2.INTER_LINEAR)
        width, height = self.roi.size
        base_x, base_y = self._pixel_grid
        return base_x + shift_x[:height, :width], base_y + shift_y[:height, :width]

    def frame(self, opening: float) -> np.ndarray:
        """The portrait with the mouth opened by `opening` in [0, 1] (values above 1 exaggerate)."""
        if opening <= 1e-3:
            return self.image
        map_x, map_y = self._source_map(opening)
        out = self.image.copy()
        roi = self.roi
        out[roi.y0 : roi.y1, roi.x0 : roi.x1] = cv2.remap(
            self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        upper_shift = self.landmark_shift[UPPER_LIP_INNER_MID] * opening
        self.interior.paint(out, self.mouth_opening_polygon(opening), upper_shift)
        return out

    def mouth_opening_polygon(self, opening: float) -> np.ndarray:
        """The inner-lip contour (K, 2) in output pixels for this opening."""
        moved = self.points + self.landmark_shift * opening
        return smooth_loop(moved[self.inner_loop])


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
        self.source_box = _region_roi(polygon, image.shape, margin=2)
        coverage = _polygon_mask(polygon, self.source_box)
        self.source_mask = coverage if coverage.sum() > 4.0 else None

    def paint(self, frame: np.ndarray, polygon: np.ndarray, upper_shift: np.ndarray) -> None:
        """Paint inside `polygon` (the parted inner lips, output pixels), in place."""
        box = _region_roi(polygon, frame.shape, margin=2)
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
