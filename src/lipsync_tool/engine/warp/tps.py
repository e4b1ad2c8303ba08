"""Thin-plate-spline interpolation of displacements given at scattered control points."""

from __future__ import annotations

import numpy as np


def _kernel(r2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 0.5 * r2 * np.log(r2)
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


class ThinPlateSpline:
    """Smooth 2-D field through `values` (N, C) at `points` (N, 2); `smoothing` regularises near-duplicate points."""

    def __init__(self, points: np.ndarray, values: np.ndarray, smoothing: float = 1e-4) -> None:
        self.scale = float(np.ptp(points, axis=0).max()) or 1.0
        self.origin = points.mean(axis=0)
        self.points = (points - self.origin) / self.scale
        n = len(self.points)
        d2 = ((self.points[:, None, :] - self.points[None, :, :]) ** 2).sum(-1)
        affine = np.hstack([np.ones((n, 1)), self.points])
        system = np.zeros((n + 3, n + 3))
        system[:n, :n] = _kernel(d2) + smoothing * np.eye(n)
        system[:n, n:] = affine
        system[n:, :n] = affine.T
        rhs = np.zeros((n + 3, values.shape[1]))
        rhs[:n] = values
        solution = np.linalg.solve(system, rhs)
        self.weights = solution[:n]
        self.affine = solution[n:]

    def __call__(self, query: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Evaluate at `query` (M, 2)."""
        q = (query - self.origin) / self.scale
        out = np.empty((len(q), self.weights.shape[1]))
        for start in range(0, len(q), chunk):
            block = q[start : start + chunk]
            d2 = ((block[:, None, :] - self.points[None, :, :]) ** 2).sum(-1)
            out[start : start + chunk] = (
                _kernel(d2) @ self.weights
                + np.hstack([np.ones((len(block), 1)), block]) @ self.affine
            )
        return out
