"""Face-aligned coordinates and the per-landmark displacements of mouth and jaw poses."""

from __future__ import annotations

import cv2
import numpy as np

from ...face.frame import FaceFrame
from ...face.topology import (
    CHIN,
    EYE_LINE,
    FACE_OVAL,
    INNER_MOUTH_CORNERS,
    LIPS_LOWER_INNER,
    LIPS_LOWER_OUTER,
    LIPS_OUTER,
    LIPS_UPPER_INNER,
    LIPS_UPPER_OUTER,
    LOWER_LIP_INNER_MID,
    UPPER_LIP_INNER_MID,
)
from ...face.topology import MOUTH_CORNERS as OUTER_MOUTH_CORNERS

MOUTH_CORNERS = OUTER_MOUTH_CORNERS + INNER_MOUTH_CORNERS
CORNER_DROP = 0.3  # share of the lower lip's travel that the mouth corners follow
UPPER_LIP_LIFT = 0.10
CHEEK_FOLLOW = (
    0.3  # face heights beyond the lip corners over which the cheeks follow a spread or rounding
)
POUT_UPPER, POUT_LOWER = 0.004, 0.007  # face heights the rounded lips flare apart at the midline
LIPS_ALONE_CLOSE = 0.02  # face heights of a portrait's own lip gap the lips close by themselves; the jaw lifts the rest
LIP_COMPRESSION = 0.25  # share of its thickness a closed lip thins by when pressed (m, b, p)
UPPER_LIP_SHARE = 0.2  # of a parted mouth's gap, the share the upper lip travels to close it (the jaw lifts the rest)


def smoothstep(x: np.ndarray | float, lo: float, hi: float) -> np.ndarray:
    """0 below `lo`, 1 above `hi`, a smooth cubic between."""
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def side_half_width(u: np.ndarray, corners: list[int]) -> np.ndarray:
    """Per landmark, the half-width of the mouth on its own side (face heights): the distance of that
    side's corner from the midline. On a turned face the far half is the shorter one, and a shape
    normalised by the longer would leave the far corner inside the lip, dragged by its motion."""
    left = max(float(-u[corners].min()), 1e-3)
    right = max(float(u[corners].max()), 1e-3)
    return np.where(u < 0, left, right)


def sideways_foreshortening(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Per landmark, how much of a sideways motion along the face's surface shows on its side of the
    mouth (1 on a frontal face), from the mesh's depth: the chord from the mouth's middle to each
    corner leans away from the image plane by an angle, and a turned face adds to it on the far side
    and takes from it on the near side. Without depth (two columns) all ones."""
    u, _ = frame.local(points[:, :2])
    if points.shape[1] < 3:
        return np.ones(len(points))
    depth = points[:, 2] / frame.height
    middle = (depth[UPPER_LIP_INNER_MID] + depth[LOWER_LIP_INNER_MID]) / 2
    lean = [np.arctan2(depth[c] - middle, max(abs(float(u[c])), 1e-3)) for c in OUTER_MOUTH_CORNERS]
    sides = {
        float(np.sign(u[c])): np.cos(a) / np.cos(np.mean(lean))
        for c, a in zip(OUTER_MOUTH_CORNERS, lean)
    }
    return np.where(u < 0, sides.get(-1.0, 1.0), sides.get(1.0, 1.0))


def face_turn(points: np.ndarray, frame: FaceFrame) -> float:
    """How far the face is turned (radians) about its vertical axis, from the mesh's depth at the
    outer eye corners; 0 without depth."""
    if points.shape[1] < 3:
        return 0.0
    right, left = EYE_LINE
    across = float((points[left, :2] - points[right, :2]) @ frame.right)
    return float(np.arctan2(points[left, 2] - points[right, 2], across))


def face_local(points: np.ndarray, frame: FaceFrame) -> tuple[np.ndarray, np.ndarray]:
    """(u across, v down) of `points` (N, 2) or (N, 3) relative to the mouth, in face heights, like
    `FaceFrame.local`; with the mesh's depth, u is where the point sits on the face turned back to
    frontal, so shapes laid out along u stay symmetric on a turned face (the far half is foreshortened
    in the picture, not on the face)."""
    u, v = frame.local(points[:, :2])
    turn = face_turn(points, frame)
    if turn == 0.0:
        return u, v
    middle = (points[UPPER_LIP_INNER_MID, 2] + points[LOWER_LIP_INNER_MID, 2]) / 2
    depth = (points[:, 2] - middle) / frame.height
    return u * np.cos(turn) + depth * np.sin(turn), v


def jaw_open_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement of every landmark (N, 2), in face heights, when the jaw opens by one unit.

    The lower lip drops a full unit at its middle and less towards the corners (so the opening
    is lens-shaped), the chin and lower jaw follow with a fall-off towards the ears (the jaw
    hinges there), the upper lip lifts a little and the corners drop a third of the way and
    draw in slightly, as they do when a mouth opens.
    """
    u, v = face_local(points, frame)
    points = points[:, :2]
    corners = list(MOUTH_CORNERS)
    half_width = side_half_width(u, corners)
    lateral = 1.0 - smoothstep(np.abs(u) * half_width.mean() / half_width, 0.10, 0.48)
    amount = 0.92 * lateral * smoothstep(v, 0.0, 0.10)
    taper = np.clip(1.0 - (np.abs(u) / half_width) ** 2, 0.0, 1.0)
    lip_loop = points[list(LIPS_OUTER)].astype(np.float32)
    on_lips = np.array(
        [cv2.pointPolygonTest(lip_loop, (float(x), float(y)), True) >= -1.0 for x, y in points]
    )
    upper, lower = _split_lips(on_lips, v)
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


def _split_lips(on_lips: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) masks of the landmarks on the lips: by side of the mouth's centre line, except
    the lips' own contour points, which belong to their lip wherever they sit (lips pressed together
    or overlapping put the lower lip's inner edge at or above the centre line)."""
    upper, lower = on_lips & (v <= 0), on_lips & (v > 0)
    own_lower = list(LIPS_LOWER_INNER[1:-1] + LIPS_LOWER_OUTER[1:-1])
    own_upper = list(LIPS_UPPER_INNER[1:-1] + LIPS_UPPER_OUTER[1:-1])
    lower[own_lower], upper[own_lower] = True, False
    upper[own_upper], lower[own_upper] = True, False
    return upper, lower


def _lip_membership(
    points: np.ndarray, frame: FaceFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, upper-lip mask, lower-lip mask) of every landmark."""
    u, v = face_local(points, frame)
    points = points[:, :2]
    lip_loop = points[list(LIPS_OUTER)].astype(np.float32)
    on_lips = np.array(
        [cv2.pointPolygonTest(lip_loop, (float(x), float(y)), True) >= -1.0 for x, y in points]
    )
    upper, lower = _split_lips(on_lips, v)
    return u, v, upper, lower


def lip_stretch_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, when the lip corners spread by one unit each (negative: rounding).

    Lip points move sideways in proportion to how far out they sit; the cheeks beside the
    corners follow with a fall-off, so the stretch reads as a smile-like spread, and its
    negative as the narrowing of rounded lips.
    """
    u, v = face_local(points, frame)
    corners = list(OUTER_MOUTH_CORNERS)
    half_width = side_half_width(u, corners)
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
    half_width = side_half_width(u, list(OUTER_MOUTH_CORNERS))
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
        gap = max(float((points[bottom, :2] - points[top, :2]) @ frame.down), 0.0) / frame.height
        shift[top], shift[bottom] = UPPER_LIP_SHARE * gap, -(1.0 - UPPER_LIP_SHARE) * gap
    inner = [i for pair in pairs for i in pair]
    for index in np.nonzero(upper | lower)[0]:
        if index in inner:
            continue
        candidates = [i for i in inner if (i in dict(pairs)) == bool(upper[index])]
        nearest = candidates[int(np.argmin(np.abs(u[candidates] - u[index])))]
        shift[index] = shift[nearest] * 0.6
    return shift[:, None] * frame.down[None, :]


def own_mouth_close_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, that shuts the portrait's own open mouth: a mouth
    photographed open (mid-speech, a broad smile) closes mostly by the jaw lifting, chin and all, and
    only its last `LIPS_ALONE_CLOSE` by the lips pressing; lips stretched over the whole gap would read
    as a thick open mouth. Lips that close by themselves also press: they thin towards the seam
    (`lip_compress_displacements`)."""
    gap = float((points[LOWER_LIP_INNER_MID, :2] - points[UPPER_LIP_INNER_MID, :2]) @ frame.down)
    lift = max(gap / frame.height - LIPS_ALONE_CLOSE, 0.0) / (1.0 + UPPER_LIP_LIFT)
    jaw = -lift * jaw_open_displacements(points, frame)
    lifted = np.array(points, dtype=np.float64, copy=True)
    lifted[:, :2] += jaw * frame.height
    pressed = lip_press_displacements(lifted, frame)
    if gap / frame.height > LIPS_ALONE_CLOSE:
        return jaw + pressed
    return jaw + pressed + lip_compress_displacements(points, frame)


def lip_compress_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, of closed lips pressing together, as in m, b and p: each
    lip thins towards the seam by `LIP_COMPRESSION` of its thickness."""
    u, v, upper, lower = _lip_membership(points, frame)
    shift = np.zeros(len(points))
    for mask, inner in ((upper, list(LIPS_UPPER_INNER)), (lower, list(LIPS_LOWER_INNER))):
        order = np.argsort(u[inner])
        seam = np.interp(u, u[inner][order], v[inner][order])
        shift[mask] = LIP_COMPRESSION * (seam[mask] - v[mask])
    return shift[:, None] * frame.down[None, :]


def lip_tuck_displacements(points: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Displacement (N, 2), in face heights, of the f/v shape at full tuck: the upper lip lifts off the
    upper teeth and the lower lip rises to meet them."""
    u, v, upper, lower = _lip_membership(points, frame)
    half_width = side_half_width(u, list(OUTER_MOUTH_CORNERS))
    taper = np.clip(1.0 - (np.abs(u) / half_width) ** 2, 0.0, 1.0)
    amount = np.zeros(len(points))
    amount[upper] = -0.022 * taper[upper]
    amount[lower] = -0.010 * taper[lower]
    return amount[:, None] * frame.down[None, :]
