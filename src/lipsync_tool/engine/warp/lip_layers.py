"""Lips drawn as their own layers: how a portrait that shows its teeth closes its mouth.

A warp alone cannot close a smile convincingly: the teeth between the lips get squeezed into a
pale band, and the lips keep the dark rims where they met the teeth. Here each lip is redrawn
from its own band of the portrait, stretched from its moved outer contour to its moved inner
contour, and where the lips meet a soft dark seam is drawn, as on a closed mouth.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...face.frame import FaceFrame, Roi
from ...face.topology import LIPS_LOWER_INNER, LIPS_LOWER_OUTER, LIPS_UPPER_INNER, LIPS_UPPER_OUTER
from .geometry import sorted_edge
from .palette import LUMA, MouthPalette, shade

RIM = 0.008  # face heights: the dark rim where a lip met the teeth, left out of the lip's texture
SEAM_WIDTH = 0.008  # face heights: the shadow line between closed lips (at least 2 px: see `_seam`)
UPPER_LIP_FULLNESS = 0.6  # a closed upper lip is at least this thick, as a share of the lower lip
UPPER_FROM_LOWER = (
    0.35,
    0.85,
)  # the part of the lower lip's band (0: its inner edge) mirrored onto the upper lip
UPPER_LIP_SHADE = (
    0.85,
    1.15,
)  # the upper lip faces down, away from the light: darker, a little richer
LOWER_LIP_SHADE = (1.0, 1.0)  # the lower lip faces up, into the light
# The seam takes its colour from the lips (see `MouthPalette.seam`): grey in a black-and-white photo, the
# print's tone in a sepia one. In a colour photo a seam darkened towards grey reads as a gap to the face mesh
# (and to the eye: a grey line is an open mouth's shadow); one that keeps the colour that sets the lips apart
# from the skin, as a real closed mouth's does, reads as touching lips. The lips' median colour, not each
# pixel's own, sets the hue: a pixel's chroma made richer turns its noise (or an orange lip clipped in red)
# into green and olive specks.
SEAM_GAP = 0.006  # face heights: lips closer than this show a seam at full strength
# The lower lip's texture starts this share into its band: its inner edge is the dark rim where it met the
# teeth (or the dark of a mouth photographed open), and drawn beside the seam that rim reads as a gap.
LOWER_LIP_FROM = 0.3
# Closed lips are no brighter than this times their median luma in the photo: a lower-lip highlight drawn
# up against the seam reads as a tooth between parted lips (in grey most of all).
LIP_HIGHLIGHT = 1.1
# Lips that differ little from the skin in colour (a black-and-white, toned, washed-out or pale-lipped photo:
# `MouthPalette.paleness`) are set apart in luminance instead, in full when they share the skin's colour:
# drawn lighter than the skin, not darker (to the face mesh, and to the eye at this size, lips darker than
# their skin read as the shadow of a parted mouth), and met by a wider, softer seam (a one-pixel dark line
# between colourless lips reads as a gap). Lips already that much lighter than the skin are left as they are.
PALE_ABOVE_SKIN = 1.05  # the lips' median luma against the skin's
PALE_LIFT = 0.2  # the most the lips are lightened (a share of their light)
PALE_SEAM = (1.8, 1.45)  # the seam's width and light, as factors


class LipLayers:
    """Redraws the lips of one portrait (whose mouth shows teeth) pressed together."""

    def __init__(self, image: np.ndarray, points: np.ndarray, face_height: float) -> None:
        self.image = image
        self.face_height = face_height
        palette = MouthPalette.of(image, points, face_height, FaceFrame.from_points(points).down)
        self._pale = palette.paleness
        self._seam_colour = shade(palette.seam, 1.0 + (PALE_SEAM[1] - 1.0) * self._pale)
        self._lip_luma = max(float(palette.lip @ LUMA), 1.0)
        self._skin_luma = float(palette.skin @ LUMA)
        rim = RIM * face_height
        self._upper_outer = sorted_edge(points[list(LIPS_UPPER_OUTER)])
        self._upper_inner = sorted_edge(points[list(LIPS_UPPER_INNER)] - (0, rim))
        self._lower_inner = sorted_edge(points[list(LIPS_LOWER_INNER)] + (0, rim))
        self._lower_outer = sorted_edge(points[list(LIPS_LOWER_OUTER)])

    def draw(
        self, out: np.ndarray, moved: np.ndarray, map_x: np.ndarray, roi: Roi, strength: float
    ) -> None:
        """Draw both lips between their `moved` contours into `out` (in place); `map_x` is the warp's
        source column of each ROI pixel; `strength` in [0, 1] fades the layers in."""
        if strength <= 0.01:
            return
        rows, cols = map_x.shape
        xs = np.arange(cols, dtype=np.float32) + roi.x0
        up_out = np.interp(xs, *sorted_edge(moved[list(LIPS_UPPER_OUTER)]))[None, :]
        up_in = np.interp(xs, *sorted_edge(moved[list(LIPS_UPPER_INNER)]))[None, :]
        low_in = np.interp(xs, *sorted_edge(moved[list(LIPS_LOWER_INNER)]))[None, :]
        low_out = np.interp(xs, *sorted_edge(moved[list(LIPS_LOWER_OUTER)]))[None, :]
        seam = np.minimum((up_in + low_in) / 2, low_in)
        up_in, low_in = np.minimum(up_in, seam), np.maximum(low_in, seam)
        fullness = _smoothed(
            UPPER_LIP_FULLNESS * strength * (low_out - low_in), 0.03 * self.face_height
        )
        up_out = np.minimum(_smoothed(up_out, 0.01 * self.face_height), up_in - fullness)
        # Only the lips' own box is drawn: the rest of the warp's box is left as the warp made it.
        margin = 3 * self._seam_width() + 2
        top = max(int(np.floor(up_out.min() - margin)) - roi.y0, 0)
        bottom = min(int(np.ceil(low_out.max() + margin)) - roi.y0 + 1, rows)
        corners = moved[list(LIPS_UPPER_OUTER), 0]
        left = max(int(np.floor(corners.min() - margin)) - roi.x0, 0)
        right = min(int(np.ceil(corners.max() + margin)) - roi.x0 + 1, cols)
        if bottom <= top or right <= left:
            return
        box = Roi(roi.x0 + left, roi.y0 + top, roi.x0 + right, roi.y0 + bottom)
        span = slice(left, right)
        up_out, up_in, low_in, low_out, seam = (
            a[:, span] for a in (up_out, up_in, low_in, low_out, seam)
        )
        xs = xs[span]
        ys = np.arange(box.y0, box.y1, dtype=np.float32)[:, None]
        band_x = np.ascontiguousarray(map_x[top:bottom, span])
        source_y, inside = self._source_rows(ys, band_x, (up_out, up_in, low_in, low_out))
        lips = cv2.remap(
            self.image, band_x, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        ).astype(np.float32)
        upper = ys < seam
        lips = shade(
            lips,
            np.where(upper, UPPER_LIP_SHADE[0], LOWER_LIP_SHADE[0]),
            np.where(upper, UPPER_LIP_SHADE[1], LOWER_LIP_SHADE[1]),
        )
        lips = self._set_apart(lips, inside > 0.5)
        alpha = (inside * strength)[..., None]
        patch: np.ndarray = out[box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)
        patch = patch * (1 - alpha) + lips * alpha
        patch = self._seam(patch, ys, seam, low_in - up_in, xs, moved, strength)
        out[box.y0 : box.y1, box.x0 : box.x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)

    def _seam_width(self) -> float:
        """The seam's Gaussian sigma in pixels."""
        widening = 1.0 + (PALE_SEAM[0] - 1.0) * self._pale
        return widening * max(1.0, SEAM_WIDTH * self.face_height / 2)

    def _set_apart(self, lips: np.ndarray, drawn: np.ndarray) -> np.ndarray:
        """The lips' texture (H, W, 3) lifted towards `PALE_ABOVE_SKIN` when pale against the skin (judged
        by the median of its `drawn` (H, W) pixels), and its highlights capped."""
        if drawn.any():
            median = max(float(np.median((lips @ LUMA)[drawn])), 1.0)
            lift = float(np.clip(PALE_ABOVE_SKIN * self._skin_luma / median, 1.0, 1.0 + PALE_LIFT))
            lips = shade(lips, 1.0 + (lift - 1.0) * self._pale)
        ceiling = LIP_HIGHLIGHT * self._lip_luma
        return shade(lips, np.minimum(1.0, ceiling / np.maximum(lips @ LUMA, 1.0)))

    def _source_rows(
        self, ys: np.ndarray, map_x: np.ndarray, moved: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Source row of every pixel inside either lip (each lip's band stretched onto its moved place),
        and a soft 0..1 mask of those pixels."""
        up_out, up_in, low_in, low_out = moved
        src_low_in = np.interp(map_x, *self._lower_inner)
        src_low_out = np.interp(map_x, *self._lower_outer)
        t_up = np.clip((ys - up_out) / np.maximum(up_in - up_out, 1.0), 0.0, 1.0)
        t_low = np.clip((ys - low_in) / np.maximum(low_out - low_in, 1.0), 0.0, 1.0)
        # The upper lip of a smile is stretched thin over the teeth, its band mostly skin: the closed upper
        # lip takes the lower lip's texture, mirrored about the seam (shaded in `draw`).
        lower_band = np.maximum(src_low_out - src_low_in, 1.0)
        upper_rows = (
            src_low_in
            + (UPPER_FROM_LOWER[0] + (1.0 - t_up) * (UPPER_FROM_LOWER[1] - UPPER_FROM_LOWER[0]))
            * lower_band
        )
        lower_band = np.maximum(src_low_out, src_low_in + 1.0) - src_low_in
        lower_rows = src_low_in + (LOWER_LIP_FROM + t_low * (1.0 - LOWER_LIP_FROM)) * lower_band
        source_y = np.where(ys < (up_in + low_in) / 2, upper_rows, lower_rows).astype(np.float32)
        # Soft edges one pixel wide at the outer contours, where the warped portrait takes over.
        inside = np.clip(np.minimum(ys - up_out, low_out - ys) + 0.5, 0.0, 1.0)
        inside = inside * ((map_x > self._upper_outer[0][0]) & (map_x < self._upper_outer[0][-1]))
        return source_y, inside.astype(np.float32)

    def _seam(
        self,
        patch: np.ndarray,
        ys: np.ndarray,
        seam: np.ndarray,
        gap: np.ndarray,
        xs: np.ndarray,
        moved: np.ndarray,
        strength: float,
    ) -> np.ndarray:
        """Darken a thin line where the lips meet (in their own hue), fading towards the corners and as they part."""
        width = self._seam_width()
        profile = np.exp(-0.5 * ((ys - seam) / width) ** 2)
        closed = np.clip(1.0 - gap / max(SEAM_GAP * self.face_height, 1.0), 0.0, 1.0)
        corners = moved[[LIPS_UPPER_INNER[0], LIPS_UPPER_INNER[-1]], 0]
        left, right = float(corners.min()), float(corners.max())
        across = np.clip(np.abs(xs - (left + right) / 2) / max((right - left) / 2, 1.0), 0.0, 1.0)
        taper = (1.0 - across**4)[None, :]
        alpha = (profile * closed * taper * strength)[..., None]
        # The seam's colour, with each pixel's own light and shade: the lips' texture shows through it.
        texture = (patch @ LUMA)[..., None] / self._lip_luma
        return patch * (1 - alpha) + self._seam_colour * texture * alpha


def _smoothed(row: np.ndarray, sigma: float) -> np.ndarray:
    """A (1, N) contour smoothed along x by a Gaussian of `sigma` px: landmark bumps are not lip shape."""
    if sigma < 0.5 or row.shape[1] < 3:
        return row
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(row[0], radius, mode="edge"), kernel, mode="valid")[None, :]
