"""A smooth warp of one image region: displacement fields for named poses, blended per frame, one remap."""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from ...face.frame import Roi, feather_mask
from .tps import ThinPlateSpline

GRID_STEP = 4  # fields are evaluated every 4 px and interpolated: smooth fields need no more
INVERSION_STEPS = 2
MIN_SHIFT_PX = 0.05


class RegionWarp:
    """Named displacement fields over one region of an image, any weighted sum applied with one remap.

    `shifts[name]` gives each control point's displacement (pixels) at weight 1; `anchors` are
    points that never move. The fields are thin-plate splines through both, evaluated once on a
    coarse grid and feathered to zero at the region's edge, so nothing outside it moves.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        controls: np.ndarray,
        shifts: Mapping[str, np.ndarray],
        anchors: np.ndarray,
        region: np.ndarray,
        sigma: float,
    ) -> None:
        self.shifts = {
            name: shift for name, shift in shifts.items() if np.abs(shift).max() > MIN_SHIFT_PX
        }
        self.roi = Roi.around(region, shape, margin=int(3 * sigma))
        width, height = self.roi.size
        self._pixel_grid = np.meshgrid(
            np.arange(self.roi.x0, self.roi.x0 + width, dtype=np.float32),
            np.arange(self.roi.y0, self.roi.y0 + height, dtype=np.float32),
        )
        self.fields = self._coarse_fields(controls, anchors, region, sigma)

    def _node_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel positions of the coarse grid's nodes: node k covers pixels k*STEP … k*STEP+STEP-1."""
        width, height = self.roi.size
        gw, gh = -(-width // GRID_STEP), -(-height // GRID_STEP)
        centre = (GRID_STEP - 1) / 2
        gx = np.arange(gw) * GRID_STEP + centre + self.roi.x0
        gy = np.arange(gh) * GRID_STEP + centre + self.roi.y0
        return np.meshgrid(gx, gy)

    def _coarse_fields(
        self, controls: np.ndarray, anchors: np.ndarray, region: np.ndarray, sigma: float
    ) -> dict[str, np.ndarray]:
        names = list(self.shifts)
        if not names:
            return {}
        points = np.vstack([controls, anchors])
        values = np.hstack([np.vstack([self.shifts[n], np.zeros_like(anchors)]) for n in names])
        xx, yy = self._node_pixels()
        gh, gw = xx.shape
        spline = ThinPlateSpline(points, values)
        evaluated = spline(np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(
            gh, gw, len(names), 2
        )
        mask = feather_mask(region, self.roi, sigma)
        padded = np.zeros((gh * GRID_STEP, gw * GRID_STEP), np.float32)
        padded[: mask.shape[0], : mask.shape[1]] = mask
        coarse_mask = cv2.resize(padded, (gw, gh), interpolation=cv2.INTER_AREA)[..., None]
        return {
            n: (evaluated[:, :, i] * coarse_mask).astype(np.float32) for i, n in enumerate(names)
        }

    def active(self, weights: Mapping[str, float]) -> dict[str, float]:
        """The weights that move something."""
        return {n: w for n, w in weights.items() if abs(w) > 1e-3 and n in self.fields}

    def moved(self, controls: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
        """Where the control points go for these weights."""
        moved = controls.astype(np.float64).copy()
        for name, weight in self.active(weights).items():
            moved += self.shifts[name] * weight
        return moved

    def source_map(self, weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """For each output pixel of the ROI, the source pixel it shows (inverse of the forward field)."""
        field = np.zeros_like(next(iter(self.fields.values())))
        for name, weight in weights.items():
            field = field + self.fields[name] * weight
        gh, gw = field.shape[:2]
        grid_x, grid_y = np.meshgrid(
            np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32)
        )
        src_x, src_y = grid_x - field[..., 0] / GRID_STEP, grid_y - field[..., 1] / GRID_STEP
        for _ in range(INVERSION_STEPS - 1):
            at_src = cv2.remap(
                field, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
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

    def apply(
        self, source: np.ndarray, target: np.ndarray, weights: Mapping[str, float]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Write the warped ROI of `source` into `target` (same shape); returns the maps used, None if nothing moves."""
        weights = self.active(weights)
        if not weights:
            return None
        maps = self.source_map(weights)
        roi = self.roi
        target[roi.y0 : roi.y1, roi.x0 : roi.x1] = self.remap(source, maps)
        return maps

    @staticmethod
    def remap(source: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The ROI of any full-size `source` image (or mask) through `maps`."""
        return cv2.remap(
            source, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
