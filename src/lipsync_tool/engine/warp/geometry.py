"""Face-aligned coordinates and the per-landmark displacements of mouth and jaw poses."""

from __future__ import annotations

import cv2
import numpy as np

from ...face.frame import FaceFrame
from ...face.topology import (
    CHIN,
    FACE_OVAL,
    INNER_MOUTH_CORNERS,
    LIPS_LOWER_INNER,
    LIPS_LOWER_OUTER,
    LIPS_OUTER,
    LIPS_UPPER_INNER,
    LIPS_UPPER_OUTER,
)
from ...face.topology import MOUTH_CORNERS as OUTER_MOUTH_CORNERS

MOUTH_CORNERS = OUTER_MOUTH_CORNERS + INNER_MOUTH_CORNERS
CORNER_DROP = 0.3  # share of the lower lip's travel that the mouth corners follow
UPPER_LIP_LIFT = 0.10
CHEEK_FOLLOW = (
    0.3  # face heights beyond the lip corners over which the cheeks follow a spread or rounding
)
POUT_UPPER, POUT_LOWER = 0.004, 0.007  # face heights the rounded lips flare apart at the midline
UPPER_LIP_SHARE = 0.2  # of a parted mouth's gap, the share the upper lip travels to close it (the jaw lifts the rest)


def smoothstep(x: np.ndarray | float, lo: float, hi: float) -> np.ndarray:
    """0 below `lo`, 1 above `hi`, a smooth cubic between."""
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def jaw_open_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement of every landmark (N, 2), in face heights, when the jaw opens by one unit.

    The lower lip drops a full unit at its middle and less towards the corners (so the opening
    is lens-shaped), the chin and lower jaw follow with a fall-off towards the ears (the jaw
    hinges there), the upper lip lifts a little and the corners drop a third of the way and
    draw in slightly, as they do when a mouth opens.
    """
    u, v = frame.local(points)
    lateral = 1.0 - smoothstep(np.abs(u), 0.10, 0.48)
    amount = 0.92 * lateral * smoothstep(v, 0.0, 0.10)
    corners = list(MOUTH_CORNERS)
    half_width = float(np.abs(u[corners]).max())
    taper = np.clip(1.0 - (np.abs(u) / half_width) ** 2, 0.0, 1.0)
    lip_loop = points[list(LIPS_OUTER)].astype(np.float32)
    on_lips = np.array(
        [cv2.pointPolygonTest(lip_loop, (float(x), float(y)), True) >= -1.0 for x, y in points]
    )
    lower = on_lips & (v > 0)
    upper = on_lips & (v <= 0)
    lower[list(LIPS_LOWER_INNER[1:-1] + LIPS_LOWER_OUTER[1:-1])] = True
    upper[list(LIPS_UPPER_INNER[1:-1] + LIPS_UPPER_OUTER[1:-1])] = True
    amount = np.where(lower, CORNER_DROP + (1.0 - CORNER_DROP) * taper, amount)
    amount = np.where(upper, CORNER_DROP * (1 - taper) - UPPER_LIP_LIFT * taper, amount)
    displacement = amount[:, None] * frame.down[None, :]
    inward = -np.sign(u[corners])[:, None] * frame.right[None, :]
    displacement[corners] = CORNER_DROP * frame.down[None, :] + 0.05 * inward
    return displacement


def anchor_ring(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Points around the lower face where the warp must be zero (background, neck, upper face)."""
    oval = points[list(FACE_OVAL)]
    centre = oval.mean(axis=0)
    ring = centre + (oval - centre) * 1.30
    h = frame.height
    chin = points[CHIN]
    below = [
        chin + frame.down * 0.40 * h + frame.right * s * h for s in (-0.45, -0.2, 0.0, 0.2, 0.45)
    ]
    return np.vstack([ring, np.array(below)])


def warp_region(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Polygon (K, 2) bounding where the warp may act: the lower face, a little beyond, and under the chin."""
    u, v = frame.local(points)
    h = frame.height
    lower = points[v > -0.22]
    centre = frame.mouth
    grown = centre + (lower - centre) * 1.15
    chin = points[CHIN]
    under = [chin + frame.down * 0.22 * h + frame.right * s * h for s in (-0.3, 0.0, 0.3)]
    return cv2.convexHull(np.vstack([grown, np.array(under)]).astype(np.float32)).reshape(-1, 2)


def sorted_edge(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A contour as (x ascending, y), ready for `np.interp` along the mouth."""
    order = np.argsort(points[:, 0], kind="stable")
    return points[order, 0], points[order, 1]


def smooth_loop(polygon: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Round a closed polygon's corners by Chaikin corner cutting."""
    for _ in range(iterations):
        following = np.roll(polygon, -1, axis=0)
        polygon = np.stack(
            [0.75 * polygon + 0.25 * following, 0.25 * polygon + 0.75 * following], axis=1
        ).reshape(-1, 2)
    return polygon


def _lip_membership(
    points: np.ndarray, frame: FaceFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, upper-lip mask, lower-lip mask) of every landmark."""
    u, v = frame.local(points)
    lip_loop = points[list(LIPS_OUTER)].astype(np.float32)
    on_lips = np.array(
        [cv2.pointPolygonTest(lip_loop, (float(x), float(y)), True) >= -1.0 for x, y in points]
    )
    lower, upper = on_lips & (v > 0), on_lips & (v <= 0)
    lower[list(LIPS_LOWER_INNER[1:-1] + LIPS_LOWER_OUTER[1:-1])] = True
    upper[list(LIPS_UPPER_INNER[1:-1] + LIPS_UPPER_OUTER[1:-1])] = True
    return u, v, upper, lower


def lip_stretch_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, when the lip corners spread by one unit each (negative: rounding).

    Lip points move sideways in proportion to how far out they sit; the cheeks beside the
    corners follow with a fall-off, so the stretch reads as a smile-like spread, and its
    negative as the narrowing of rounded lips.
    """
    u, v = frame.local(points)
    corners = list(OUTER_MOUTH_CORNERS)
    half_width = float(np.abs(u[corners]).max())
    near_mouth = 1.0 - smoothstep(
        np.hypot(np.maximum(np.abs(u) - half_width, 0.0), v), 0.0, CHEEK_FOLLOW
    )
    sideways = np.clip(u / half_width, -1.0, 1.0) * near_mouth
    return sideways[:, None] * frame.right[None, :]


def lip_pout_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, of fully rounded lips flaring apart in the middle.

    Rounded lips push forward and their aperture turns from a slit into an O: the upper lip
    lifts and the lower lip drops most at the midline, not at all at the corners. Without this
    the narrowing alone reads as lips closing.
    """
    u, v, upper, lower = _lip_membership(points, frame)
    corners = list(OUTER_MOUTH_CORNERS)
    half_width = float(np.abs(u[corners]).max())
    taper = np.clip(1.0 - (u / half_width) ** 2, 0.0, 1.0)
    amount = np.zeros(len(points))
    amount[upper] = -POUT_UPPER * taper[upper]
    amount[lower] = POUT_LOWER * taper[lower]
    return amount[:, None] * frame.down[None, :]


def lip_press_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, that brings the portrait's own parted lips together.

    Zero for a closed-mouth portrait. For one that shows teeth, each inner upper-lip point and its
    partner on the lower lip meet halfway; the rest of each lip follows with what its nearest inner
    point does, fading with distance, so the lips keep their shape.
    """
    u, v, upper, lower = _lip_membership(points, frame)
    pairs = list(zip(LIPS_UPPER_INNER[1:-1], LIPS_LOWER_INNER[1:-1]))
    shift = np.zeros(len(points))
    for top, bottom in pairs:
        gap = max(float((points[bottom] - points[top]) @ frame.down), 0.0) / frame.height
        shift[top], shift[bottom] = UPPER_LIP_SHARE * gap, -(1.0 - UPPER_LIP_SHARE) * gap
    inner = [i for pair in pairs for i in pair]
    for index in np.nonzero(upper | lower)[0]:
        if index in inner:
            continue
        candidates = [i for i in inner if (i in dict(pairs)) == bool(upper[index])]
        nearest = candidates[int(np.argmin(np.abs(u[candidates] - u[index])))]
        shift[index] = shift[nearest] * 0.6
    return shift[:, None] * frame.down[None, :]


def lip_tuck_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, of the f/v shape at full tuck: the upper lip lifts off the
    upper teeth and the lower lip rises to meet them."""
    u, v, upper, lower = _lip_membership(points, frame)
    corners = list(OUTER_MOUTH_CORNERS)
    half_width = float(np.abs(u[corners]).max())
    taper = np.clip(1.0 - (np.abs(u) / half_width) ** 2, 0.0, 1.0)
    amount = np.zeros(len(points))
    amount[upper] = -0.022 * taper[upper]
    amount[lower] = -0.010 * taper[lower]
    return amount[:, None] * frame.down[None, :]
