"""Measurements of a face from its 468 landmarks, normalised by the face's height.

All functions take (468, 2) or (468, 3) points in image pixels and use x, y only, so the
results are independent of image size and of the face's roll.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from lipsync_tool.face import topology

logger = logging.getLogger(__name__)

Side = Literal["left", "right"]


def _xy(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] != 468 or points.shape[1] < 2:
        raise ValueError(f"expected (468, 2) or (468, 3) landmarks, got {points.shape}")
    return points[:, :2]


def _down_axis(xy: np.ndarray) -> np.ndarray:
    """Unit vector from the forehead top to the chin (the face's vertical)."""
    axis = xy[topology.CHIN] - xy[topology.FOREHEAD_TOP]
    return axis / max(float(np.linalg.norm(axis)), 1e-9)


def face_height(points: np.ndarray) -> float:
    """Distance from the forehead top (10) to the chin (152), in pixels."""
    xy = _xy(points)
    return float(np.linalg.norm(xy[topology.CHIN] - xy[topology.FOREHEAD_TOP]))


def _mean_gap(xy: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> float:
    """Mean distance along the face's vertical from upper to lower points (>= 0)."""
    upper = xy[[u for u, _ in pairs]]
    lower = xy[[low for _, low in pairs]]
    gaps = (lower - upper) @ _down_axis(xy)
    return max(float(gaps.mean()), 0.0)


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap over face height: ~0 closed, ~0.1 wide open.

    The gap is the mean vertical distance across five facing inner-lip pairs around 13/14.
    """
    xy = _xy(points)
    return _mean_gap(xy, topology.INNER_LIP_PAIRS) / max(face_height(xy), 1e-9)


def mouth_width(points: np.ndarray) -> float:
    """Distance between the mouth corners (61, 291) over face height."""
    xy = _xy(points)
    right, left = topology.MOUTH_CORNERS
    return float(np.linalg.norm(xy[left] - xy[right])) / max(face_height(xy), 1e-9)


def eye_openness(points: np.ndarray, side: Side) -> float:
    """Mean lid gap over the eye's corner-to-corner width (eye aspect ratio; ~0.25-0.35
    for an open eye, under ~0.1 closed). ``side`` is the subject's."""
    xy = _xy(points)
    if side == "right":
        pairs = topology.RIGHT_EYE_LID_PAIRS
        corners = (topology.RIGHT_EYE_OUTER, topology.RIGHT_EYE_INNER)
    elif side == "left":
        pairs = topology.LEFT_EYE_LID_PAIRS
        corners = (topology.LEFT_EYE_OUTER, topology.LEFT_EYE_INNER)
    else:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    width = float(np.linalg.norm(xy[corners[0]] - xy[corners[1]]))
    return _mean_gap(xy, pairs) / max(width, 1e-9)
