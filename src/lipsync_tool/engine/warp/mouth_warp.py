"""The mouth: jaw, lips and corners moved by a region warp, and the parted lips filled with an interior."""

from __future__ import annotations

import numpy as np

from ...face.frame import FaceFrame
from ...face.topology import LIPS_INNER, UPPER_LIP_INNER_MID
from .geometry import (
    anchor_ring,
    jaw_open_displacements,
    lip_pout_displacements,
    lip_stretch_displacements,
    lip_tuck_displacements,
    own_mouth_close_displacements,
    sideways_foreshortening,
    smooth_loop,
    smoothstep,
    warp_region,
)
from .interior import InteriorPose, MouthInterior
from .lip_layers import LipLayers
from .region_warp import RegionWarp

JAW_DROP = 0.065  # lower-lip travel at full opening, in face heights
LIP_STRETCH = 0.035  # sideways travel of each lip corner at full spread, in face heights
ROUNDING_GAIN = 1.8  # rounded lips draw in further than spread lips reach out
OWN_MOUTH_TUCK_CLOSE = 0.5  # how far f/v closes a portrait's own open mouth
OWN_MOUTH_PARTED_AT = (
    1.0  # jaw opening at which a portrait that shows its teeth has its lips as far apart as
)
# in the photo: below it the lips come together, shut at rest, so silence is a closed mouth on any portrait
OWN_MOUTH_LOWER_TEETH_FROM = (
    0.6  # jaw opening from which a smile's dropping jaw shows the lower teeth (all at 1)
)
OWN_MOUTH_ROUND_COVER = (
    0.1  # how far rounded lips (oo, w) draw over the teeth of a portrait that shows them
)


def own_mouth_rest_close(opening: float) -> float:
    """How far the lips of a portrait that shows its teeth are drawn together at this jaw opening:
    1 (closed) at rest, 0 (the photo's own parted lips) at `OWN_MOUTH_PARTED_AT`, in proportion between (a
    smooth step read as a jump then a plateau: the mouth looked open as soon as it parted)."""
    return 1.0 - float(np.clip(opening / OWN_MOUTH_PARTED_AT, 0.0, 1.0))


class MouthWarp:
    """Animates one portrait's mouth: `frame(opening, width, close)` returns the portrait in that pose."""

    def __init__(self, image: np.ndarray, points: np.ndarray, amplitude: float = 1.0) -> None:
        """`points`: the face's (468, 2) landmarks in `image` pixels, or (468, 3) with the mesh's
        depth (same scale), which makes sideways lip motion follow a turned face's foreshortening."""
        self.image = image
        self.points = points[:, :2].astype(np.float64)
        self.face = FaceFrame.from_points(self.points)
        scale = amplitude * self.face.height
        mesh = np.asarray(points, np.float64)
        sideways = sideways_foreshortening(mesh, self.face)[:, None]
        shifts = {
            "open": jaw_open_displacements(mesh, self.face) * (JAW_DROP * scale),
            "width": lip_stretch_displacements(mesh, self.face) * (LIP_STRETCH * scale) * sideways,
            "close": own_mouth_close_displacements(mesh, self.face) * self.face.height,
            "tuck": lip_tuck_displacements(mesh, self.face) * scale,
            "pout": lip_pout_displacements(mesh, self.face) * scale,
        }
        self.region, self.sigma = self.region_of(self.points)
        region, sigma = self.region, self.sigma
        anchors = anchor_ring(self.points, self.face)
        self.warp = RegionWarp(image.shape, self.points, shifts, anchors, region, sigma)
        self.roi = self.warp.roi
        self.inner_loop = list(LIPS_INNER)
        self.interior = MouthInterior(image, self.points, self.face.height, self.face.down)
        self.lip_layers = LipLayers(image, self.points, self.face.height)

    @staticmethod
    def region_of(points: np.ndarray) -> tuple[np.ndarray, float]:
        """The polygon the warp of a face with these landmarks acts in, and its feathering (px)."""
        face = FaceFrame.from_points(points[:, :2])
        return warp_region(points[:, :2], face), max(2.0, 0.05 * face.height)

    def _weights(
        self, opening: float, width: float, close: float, tuck: float = 0.0
    ) -> dict[str, float]:
        rounding = max(-width, 0.0)
        width = -rounding * ROUNDING_GAIN if width < 0 else width
        return {
            "open": opening,
            "width": width,
            "close": close,
            "tuck": tuck,
            "pout": rounding * max(1.0 - close, 0.0),
        }

    def frame(
        self,
        opening: float,
        width: float = 0.0,
        close: float = 0.0,
        tuck: float = 0.0,
        tongue: float = 0.0,
    ) -> np.ndarray:
        """The portrait with the jaw opened by `opening` in [0, 1], the lips spread by `width`
        in [-1, 1] (negative: rounded), the portrait's own parted lips pressed shut by `close`,
        the lower lip tucked under the upper teeth by `tuck` and the tongue tip shown by `tongue`."""
        if self.interior.has_own_mouth:
            close = max(
                close,
                own_mouth_rest_close(opening) * (1.0 - tuck),
                OWN_MOUTH_ROUND_COVER * max(-width, 0.0),
            )
        tucked = self.interior.has_own_mouth and OWN_MOUTH_TUCK_CLOSE * tuck > close
        if tucked:  # f/v on a mouth already open: the lower lip comes up to the teeth
            close = OWN_MOUTH_TUCK_CLOSE * tuck
        weights = self._weights(opening, width, close, tuck)
        out = self.image.copy()
        maps = self.warp.apply(self.image, out, weights)
        if maps is None:
            return self.image
        moved = self.warp.moved(self.points, weights)
        if close > 0.01 and self.interior.has_own_mouth:
            if tucked:
                self._press_own_mouth(out, maps, close)
            else:
                self.lip_layers.draw(out, moved, maps[0], self.roi, min(1.0, 4.0 * close))
        upper_shift = moved[UPPER_LIP_INNER_MID] - self.points[UPPER_LIP_INNER_MID]
        pose = InteriorPose(
            upper_teeth=float(np.clip(1.0 + min(width, 0.0) * 0.8, 0.0, 1.0)),
            lower_teeth=self._lower_teeth_shown(opening, width),
            tongue=float(np.clip(tongue, 0.0, 1.0)),
            closed=float(np.clip(close, 0.0, 1.0)),
            rounding=float(np.clip(-width, 0.0, 1.0)),
        )
        self.interior.paint(out, moved, pose, upper_shift)
        return out

    def _lower_teeth_shown(self, opening: float, width: float) -> float:
        """How much of the lower teeth shows: on wide shapes, and in a smile whose jaw drops past the photo's."""
        wide = float(np.clip(width, 0.0, 1.0))
        if not self.interior.has_own_mouth:
            return wide
        return max(wide, float(smoothstep(opening, OWN_MOUTH_LOWER_TEETH_FROM, 1.0)))

    def _press_own_mouth(
        self, out: np.ndarray, maps: tuple[np.ndarray, np.ndarray], close: float
    ) -> None:
        """Lips pressing over a mouth the portrait shows open: lip texture replaces the teeth they cover."""
        lip_y, weight = self.interior.lip_source_map(*maps)
        lips = self.warp.remap(self.image, (maps[0], lip_y)).astype(np.float32)
        alpha = (weight * min(1.0, 1.5 * close))[..., None]
        roi = self.roi
        patch = out[roi.y0 : roi.y1, roi.x0 : roi.x1].astype(np.float32)
        out[roi.y0 : roi.y1, roi.x0 : roi.x1] = np.clip(
            patch * (1 - alpha) + lips * alpha + 0.5, 0, 255
        ).astype(np.uint8)

    def mouth_opening_polygon(
        self, opening: float, width: float = 0.0, close: float = 0.0
    ) -> np.ndarray:
        """The inner-lip contour (K, 2) in output pixels for this pose."""
        return smooth_loop(
            self.warp.moved(self.points, self._weights(opening, width, close))[self.inner_loop]
        )
