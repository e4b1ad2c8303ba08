"""What shows between parted lips: cavity, teeth and tongue, in colours taken from the portrait itself
(see `palette`)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...face.frame import Roi
from ...face.topology import (
    LIPS_INNER,
    LIPS_LOWER_INNER,
    LIPS_LOWER_OUTER,
    LIPS_UPPER_INNER,
    LIPS_UPPER_OUTER,
    LOWER_LIP_INNER_MID,
)
from .geometry import smooth_loop, smoothstep, sorted_edge
from .palette import MouthPalette, shade

UPPER_TEETH = 0.024  # visible height of the upper incisors, in face heights
LOWER_TEETH = 0.015
TEETH_SPAN = 0.64  # share of the mouth's inner width the front teeth cover
TONGUE_HEIGHT = 0.5  # share of the opening a raised tongue tip fills
LIP_EDGE = 0.008  # face heights: how deep inside the lip a pressed lip takes its texture from
LIP_BAND_USED = (
    0.8  # share of a lip's thickness (past LIP_EDGE) that lends texture to the closing gap
)
PURSED_CORNERS = (
    1.0  # how far fully pursed lips cover a portrait's own teeth at the mouth's corners
)
SHUT_WASH = (
    0.6,
    1.0,
)  # closure over which what still shows between the lips darkens to the lip seam: only a
# nearly shut gap is washed, so teeth seen through half-parted lips keep their own colour
OWN_MOUTH_GAP = 0.016
"""Mean lip gap (face heights) above which the portrait's own open mouth is reused. The mesh reads the
same closed lips anywhere from 0.008 to 0.0125 (a photo and its mirror image), so closed lips stay
below it; lips parted less than this close by the warp alone (`geometry.lip_press_displacements`)."""


OWN_RIM_FADE = 0.03
"""Face heights above the portrait's own lower lip over which its own open mouth fades out once the
jaw drops past the photo's: the kept mouth moves with the upper jaw, and its bottom edge (the lower
lip's wet inner rim) would otherwise float above the lowered lip as a second lip."""


@dataclass(frozen=True)
class InteriorPose:
    """How much of each part shows, in [0, 1]."""

    upper_teeth: float = 1.0
    lower_teeth: float = 0.0
    tongue: float = 0.0
    closed: float = 0.0
    """How far the lips are pressed together: what is left of the gap darkens to the lip seam."""
    rounding: float = 0.0
    """How far the lips are pursed (oo, w): they cover a portrait's own teeth at the mouth's corners."""


def _fold(depth: np.ndarray, band: np.ndarray) -> np.ndarray:
    """`depth` reflected back and forth within [0, band] (a triangle wave), so it never leaves the band."""
    phase = np.mod(depth, 2 * band)
    return np.where(phase > band, 2 * band - phase, phase)


def polygon_coverage(polygon: np.ndarray, box: Roi, supersample: int = 4) -> np.ndarray:
    """Anti-aliased coverage (0..1 float32) of `polygon` on the pixels of `box`."""
    width, height = box.size
    big = np.zeros((height * supersample, width * supersample), np.uint8)
    pts = np.round((polygon - (box.x0, box.y0)) * supersample + (supersample - 1) / 2).astype(
        np.int32
    )
    cv2.fillPoly(big, [pts], 255, lineType=cv2.LINE_AA)
    return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


TOOTH_EDGES = (
    0.29,
    0.51,
    0.76,
    1.0,
)  # tooth boundaries from the midline out, as shares of the half span (incisors to premolar)


def _tooth_relief(across: np.ndarray, width: float) -> np.ndarray:
    """1 on a tooth's face, dipping at the midline and each tooth boundary (the dark gaps between teeth);
    `across` and `width` in shares of the half span."""
    relief = np.ones_like(across, dtype=np.float64)
    for boundary in (0.0, *TOOTH_EDGES):
        relief = relief * (1.0 - 0.25 * np.exp(-0.5 * ((across - boundary) / width) ** 2))
    return relief


def _band(edge: np.ndarray, direction: np.ndarray, depth: float) -> np.ndarray:
    """A crescent hanging off `edge` (ordered corner to corner) by up to `depth` px along `direction`."""
    t = np.linspace(-1.0, 1.0, len(edge))
    reach = depth * np.sqrt(np.clip(1.0 - (t / TEETH_SPAN) ** 2, 0.0, 1.0))
    inner = edge + direction[None, :] * reach[:, None]
    return np.vstack([edge, inner[::-1]])


class MouthInterior:
    """Fills the parted lips, in place: the portrait's own visible mouth (moved with the upper jaw) if it has one,
    else synthesised teeth and tongue, over a shaded cavity."""

    def __init__(
        self, image: np.ndarray, points: np.ndarray, face_height: float, down: np.ndarray
    ) -> None:
        self.palette = MouthPalette.of(image, points, face_height, down)
        self.lip = self.palette.lip
        self.teeth = self.palette.teeth
        self.tongue_colour = self.palette.tongue
        self.image = image
        self.face_height = face_height
        self.down = down
        polygon = points[list(LIPS_INNER)]
        self.source_box = Roi.around(polygon, image.shape, margin=2)
        coverage = polygon_coverage(polygon, self.source_box)
        mouth_width = float(np.ptp(polygon @ np.array([down[1], -down[0]])))
        mean_gap = coverage.sum() / max(mouth_width, 1.0)
        self.source_mask = coverage if mean_gap > OWN_MOUTH_GAP * face_height else None
        self._full_mask: np.ndarray | None = None
        upper = points[list(LIPS_UPPER_INNER)]
        lower = points[list(LIPS_LOWER_INNER)]
        self._upper_edge, self._lower_edge = sorted_edge(upper), sorted_edge(lower)
        self._lower_mid = np.asarray(points[LOWER_LIP_INNER_MID], np.float64)
        self._upper_outer = sorted_edge(points[list(LIPS_UPPER_OUTER)])
        self._lower_outer = sorted_edge(points[list(LIPS_LOWER_OUTER)])
        self._rim_keep = self._above_own_rim() if self.source_mask is not None else None

    def lip_source_map(self, map_x: np.ndarray, map_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where pressed lips take their pixels: a sample point that falls inside the portrait's open mouth
        is mirrored across the nearer lip edge, so lip texture, not teeth, fills the closing gap; the
        second array is 1 where that happened (fading at the edges)."""
        top = np.interp(map_x, *self._upper_edge)
        bottom = np.interp(map_x, *self._lower_edge)
        middle = (top + bottom) / 2
        inside = (map_y > top) & (map_y < bottom)
        skip = (
            LIP_EDGE * self.face_height
        )  # past the dark line where lip met teeth, into the lip itself
        # Mirrored across the nearer lip edge, but folded back into that lip's own band, so a thin
        # lip never lends the skin beyond it.
        upper_band = np.maximum(top - np.interp(map_x, *self._upper_outer) - skip, 1.0)
        lower_band = np.maximum(np.interp(map_x, *self._lower_outer) - bottom - skip, 1.0)
        upper_depth = _fold(map_y - top, upper_band * LIP_BAND_USED)
        lower_depth = _fold(bottom - map_y, lower_band * LIP_BAND_USED)
        mirrored = np.where(map_y < middle, top - skip - upper_depth, bottom + skip + lower_depth)
        weight = np.clip(np.minimum(map_y - top, bottom - map_y) + 0.5, 0.0, 1.0) * inside
        return np.where(inside, mirrored, map_y).astype(np.float32), weight.astype(np.float32)

    @property
    def has_own_mouth(self) -> bool:
        """True when the portrait already shows an open mouth (e.g. a smile with teeth)."""
        return self.source_mask is not None

    def paint(
        self, frame: np.ndarray, moved: np.ndarray, pose: InteriorPose, upper_shift: np.ndarray
    ) -> None:
        """Paint between the parted lips given the moved landmarks (N, 2)."""
        polygon = smooth_loop(moved[list(LIPS_INNER)])
        box = Roi.around(polygon, frame.shape, margin=2)
        if min(box.size) < 2:
            return
        coverage = polygon_coverage(polygon, box)
        if coverage.max() <= 0:
            return
        fill = self._cavity(coverage)
        if self.source_mask is not None:
            fill = self._lower_teeth(fill, box, moved, pose.lower_teeth)
            kept, kept_alpha = self._own_mouth(box, upper_shift, moved[LOWER_LIP_INNER_MID])
            fill = self._over(fill, kept, kept_alpha)
            if pose.rounding > 0.01:
                fill = self._over(
                    fill,
                    np.broadcast_to(shade(self.lip, 0.85), fill.shape),
                    self._pursed_corners(box, polygon, pose.rounding),
                )
        else:
            fill = self._synthesise(fill, box, moved, pose)
        shut = float(smoothstep(pose.closed, *SHUT_WASH))
        if shut > 0.01:
            seam = np.broadcast_to(shade(self.lip, 0.7), fill.shape)
            fill = self._over(fill, seam, np.full(fill.shape[:2], shut, np.float32))
        patch = frame[box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)
        blended = patch * (1 - coverage[..., None]) + fill * coverage[..., None]
        frame[box.y0 : box.y1, box.x0 : box.x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)

    @staticmethod
    def _over(base: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        return base * (1 - alpha[..., None]) + layer * alpha[..., None]

    def _synthesise(
        self, fill: np.ndarray, box: Roi, moved: np.ndarray, pose: InteriorPose
    ) -> np.ndarray:
        upper_edge = moved[list(LIPS_UPPER_INNER)]
        lower_edge = moved[list(LIPS_LOWER_INNER)]
        fill = self._lower_teeth(fill, box, moved, pose.lower_teeth)
        if pose.upper_teeth > 0.01:
            band = _band(upper_edge, self.down, UPPER_TEETH * self.face_height)
            fill = self._over(
                fill,
                self._shaded_teeth(fill.shape, box, upper_edge, 1.0),
                self._soft(band, box) * pose.upper_teeth,
            )
        if pose.tongue > 0.01:
            tongue = self._tongue_mask(box, upper_edge, lower_edge)
            lit = np.clip(tongue * 1.6, 0.0, 1.0)[..., None]  # darker towards its rim
            colour = self.tongue_colour * (0.55 + 0.45 * lit)
            fill = self._over(fill, colour, np.clip(tongue * 2.0, 0.0, 1.0) * pose.tongue)
        return fill

    def _lower_teeth(
        self, fill: np.ndarray, box: Roi, moved: np.ndarray, amount: float
    ) -> np.ndarray:
        """The lower incisors' edges rising from behind the lower lip, `amount` in [0, 1]."""
        if amount <= 0.01:
            return fill
        lower_edge = moved[list(LIPS_LOWER_INNER)]
        band = _band(lower_edge, -self.down, LOWER_TEETH * self.face_height)
        return self._over(
            fill,
            self._shaded_teeth(fill.shape, box, lower_edge, 0.8),
            self._soft(band, box) * amount,
        )

    def _soft(self, polygon: np.ndarray, box: Roi) -> np.ndarray:
        return cv2.GaussianBlur(
            polygon_coverage(polygon, box), (0, 0), max(0.5, 0.003 * self.face_height)
        )

    def _shaded_teeth(
        self, shape: tuple[int, ...], box: Roi, edge: np.ndarray, brightness: float
    ) -> np.ndarray:
        """Teeth colour, shaded: one tooth after another from the midline out, each a little rounded, the row
        darkening towards the cheeks, the edge next to the overhanging lip in its shadow and the biting
        edge slightly translucent."""
        rows, cols = shape[:2]
        xs = np.arange(cols) + box.x0
        left, right = float(edge[:, 0].min()), float(edge[:, 0].max())
        half_span = max((right - left) / 2 * TEETH_SPAN, 1.0)
        across = np.abs(xs - (left + right) / 2) / half_span
        lip_y = (
            np.interp(xs, edge[:, 0], edge[:, 1])
            if np.all(np.diff(edge[:, 0]) > 0)
            else np.full(cols, edge[:, 1].mean())
        )
        ys = np.arange(rows)[:, None] + box.y0
        height = max(UPPER_TEETH * self.face_height, 1.0)
        depth = np.clip(np.abs(ys - lip_y[None, :]) / height, 0.0, 1.0)
        row = 1.0 - 0.75 * np.clip(across, 0.0, 1.0) ** 2.5
        tooth = _tooth_relief(across, max(0.7 / half_span, 0.03))
        shade = (
            row[None, :] * (0.80 + 0.20 * np.clip(depth * 3, 0.0, 1.0)) * (1.0 - 0.10 * depth**2)
        )
        shade = shade * (1.0 - (1.0 - tooth[None, :]) * (0.5 + 0.5 * depth)) * brightness
        return self.teeth[None, None, :] * shade[..., None]

    def _tongue_mask(self, box: Roi, upper_edge: np.ndarray, lower_edge: np.ndarray) -> np.ndarray:
        """A rounded tongue tip rising from the lower lip towards the upper teeth."""
        mid_low = lower_edge[len(lower_edge) // 2]
        mid_up = upper_edge[len(upper_edge) // 2]
        gap = float(np.linalg.norm(mid_low - mid_up))
        span = float(np.linalg.norm(lower_edge[-1] - lower_edge[0]))
        centre = mid_low - self.down * gap * 0.1
        axes = (max(span * 0.24, 1.0), max(gap * TONGUE_HEIGHT, 1.0))
        angle = float(np.degrees(np.arctan2(self.down[0], -self.down[1]) * -1))
        width, height = box.size
        mask = np.zeros((height, width), np.float32)
        c = (int(round(centre[0] - box.x0)), int(round(centre[1] - box.y0)))
        cv2.ellipse(
            mask, c, (int(round(axes[0])), int(round(axes[1]))), angle, 0, 360, 1.0, -1, cv2.LINE_AA
        )
        return cv2.GaussianBlur(mask, (0, 0), max(1.0, axes[1] * 0.5))

    def _cavity(self, coverage: np.ndarray) -> np.ndarray:
        """Dark oral cavity: darkest under the upper lip, warmer towards the tongue, lighter at the lips."""
        inside = (coverage > 0.5).astype(np.uint8)
        # Distance from the lips, smoothed: on the binary mask alone it steps a pixel at a time along a slanted lip.
        depth = cv2.GaussianBlur(cv2.distanceTransform(inside, cv2.DIST_L2, 3), (0, 0), 0.8)
        edge_glow = np.clip(1.0 - depth / 2.0, 0.0, 1.0) * np.clip(coverage * 2.0, 0.0, 1.0)
        rows = np.nonzero(inside.any(axis=1))[0]
        top, bottom = (rows[0], rows[-1]) if len(rows) else (0, coverage.shape[0] - 1)
        y = np.clip((np.arange(coverage.shape[0]) - top) / max(bottom - top, 1), 0, 1)[
            :, None, None
        ]
        deep = self.palette.cavity
        base = deep * (1 - y * 0.6) + self.tongue_colour * 0.5 * (y**2)
        return (
            base * (1 - edge_glow[..., None] * 0.7) + self.palette.inner_rim * edge_glow[..., None]
        )

    @staticmethod
    def _pursed_corners(box: Roi, polygon: np.ndarray, rounding: float) -> np.ndarray:
        """(H, W) share of each pixel that pursed lips cover: none at the midline, growing towards the corners."""
        left, right = float(polygon[:, 0].min()), float(polygon[:, 0].max())
        xs = np.arange(box.x0, box.x1, dtype=np.float32)
        across = np.clip(np.abs(xs - (left + right) / 2) / max((right - left) / 2, 1.0), 0.0, 1.0)
        cover = np.clip(PURSED_CORNERS * rounding * across**4, 0.0, 1.0)
        return np.broadcast_to(cover[None, :], (box.size[1], box.size[0]))

    def _own_mouth(
        self, box: Roi, shift: np.ndarray, lower_mid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The portrait's visible mouth interior, moved by `shift`, on the pixels of `box`; its bottom
        fades out as far as the lower lip (its middle now at `lower_mid`) has dropped below it."""
        src = self.source_box
        matrix = np.array(
            [[1, 0, src.x0 + shift[0] - box.x0], [0, 1, src.y0 + shift[1] - box.y0]], np.float32
        )
        patch = self.image[src.y0 : src.y1, src.x0 : src.x1].astype(np.float32)
        size = box.size
        moved = cv2.warpAffine(
            patch, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        assert self.source_mask is not None
        mask = cv2.warpAffine(
            self._faded_mask(lower_mid - self._lower_mid - shift),
            matrix,
            size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        return moved, mask

    def _above_own_rim(self) -> np.ndarray:
        """On the own mouth's source box: 0 at the portrait's lower inner lip edge, rising to 1
        `OWN_RIM_FADE` above it (the part of the kept mouth that never fades)."""
        src = self.source_box
        band = max(OWN_RIM_FADE * self.face_height, 1.0)
        xs = np.arange(src.x0, src.x1, dtype=np.float64) + 0.5
        ys = np.arange(src.y0, src.y1, dtype=np.float64)[:, None] + 0.5
        above_lip = np.interp(xs, *self._lower_edge)[None, :] - ys
        return np.clip(above_lip / band, 0.0, 1.0)

    def _faded_mask(self, drop: np.ndarray) -> np.ndarray:
        """The own mouth's mask on its source box, its bottom `OWN_RIM_FADE` faded by how far (`drop`, px)
        the lower lip has moved down past where the kept mouth puts its rim."""
        assert self.source_mask is not None and self._rim_keep is not None
        band = max(OWN_RIM_FADE * self.face_height, 1.0)
        fade = float(np.clip((drop @ self.down) / band, 0.0, 1.0))
        if fade <= 0.0:
            return self.source_mask
        return (self.source_mask * (1.0 - fade * (1.0 - self._rim_keep))).astype(np.float32)
