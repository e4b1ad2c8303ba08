"""Eye blinks: the upper lid slides down over the eye, the skin above it stretching to follow."""

from __future__ import annotations

import cv2
import numpy as np

from ..face.frame import FaceFrame, Roi
from ..face.topology import LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER

LID_TRAVEL = 0.95  # share of the lid-to-lid gap the upper lid covers at a full blink
SKIN_ABOVE = 1.8  # eye heights of skin above the lid that stretch (the fold up to the brow)


class _EyeLid:
    """One eye's lids in face-aligned coordinates, and the backward map that closes it."""

    def __init__(
        self,
        image_shape: tuple[int, ...],
        points: np.ndarray,
        upper: tuple[int, ...],
        lower: tuple[int, ...],
        frame: FaceFrame,
    ) -> None:
        self.frame = frame
        self.origin = points[list(upper)].mean(axis=0)
        up_u, up_v = self._local(points[list(upper)])
        low_u, low_v = self._local(points[list(lower)])
        order_up, order_low = np.argsort(up_u), np.argsort(low_u)
        self.upper = (up_u[order_up], up_v[order_up])
        self.lower = (low_u[order_low], low_v[order_low])
        self.u_range = (float(up_u.min()), float(up_u.max()))
        height = float(np.max(np.interp(up_u, *self.lower) - up_v))
        self.eye_height = max(height, 1.0)
        corners = points[[upper[0], upper[-1]]]
        span = np.linalg.norm(corners[1] - corners[0])
        polygon = np.vstack(
            [
                corners[0] - frame.right * 0.1 * span,
                corners[1] + frame.right * 0.1 * span,
                points[list(lower)].max(axis=0),
            ]
        )
        top = self.origin - frame.down * (SKIN_ABOVE + 0.5) * self.eye_height
        self.roi = Roi.around(
            np.vstack([polygon, top, points[list(upper + lower)]]), image_shape, margin=2
        )
        width, rows = self.roi.size
        xs, ys = np.meshgrid(
            np.arange(self.roi.x0, self.roi.x0 + width, dtype=np.float64),
            np.arange(self.roi.y0, self.roi.y0 + rows, dtype=np.float64),
        )
        self.grid = (xs.astype(np.float32), ys.astype(np.float32))
        self.u, self.v = self._local(np.stack([xs.ravel(), ys.ravel()], axis=1))
        self.lid = np.interp(self.u, *self.upper)
        self.gap = np.clip(np.interp(self.u, *self.lower) - self.lid, 0.0, None)
        inside = (self.u > self.u_range[0]) & (self.u < self.u_range[1])
        self.gap[~inside] = 0.0

    def _local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = pts - self.origin
        return rel @ self.frame.right, rel @ self.frame.down

    def map(self, amount: float) -> tuple[np.ndarray, np.ndarray]:
        """Backward map of the ROI for a lid closed by `amount`."""
        travel = self.gap * LID_TRAVEL * amount
        brow = self.lid - SKIN_ABOVE * self.eye_height
        new_lid = self.lid + travel
        stretched = (self.v > brow) & (self.v < new_lid)
        ratio = (self.lid - brow) / np.maximum(new_lid - brow, 1e-6)
        src_v = np.where(stretched, brow + (self.v - brow) * ratio, self.v)
        dv = (src_v - self.v).reshape(self.grid[0].shape)
        dv = cv2.GaussianBlur(dv.astype(np.float32), (0, 0), 0.6)
        down = self.frame.down.astype(np.float32)
        return self.grid[0] + dv * down[0], self.grid[1] + dv * down[1]


class EyeBlinker:
    """Closes both eyes by `amount` in [0, 1] (1: lids shut)."""

    def __init__(self, image_shape: tuple[int, ...], points: np.ndarray) -> None:
        points = points[:, :2].astype(np.float64)
        frame = FaceFrame.from_points(points)
        self.lids = [
            _EyeLid(image_shape, points, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, frame),
            _EyeLid(image_shape, points, LEFT_EYE_UPPER, LEFT_EYE_LOWER, frame),
        ]

    def apply(self, frame: np.ndarray, amount: float) -> np.ndarray:
        """`frame` with the eyes closed by `amount` (a new array when anything moved)."""
        if amount <= 1e-3:
            return frame
        out = frame.copy()
        for lid in self.lids:
            map_x, map_y = lid.map(amount)
            roi = lid.roi
            out[roi.y0 : roi.y1, roi.x0 : roi.x1] = cv2.remap(
                frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        return out
