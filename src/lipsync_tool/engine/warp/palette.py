"""The colours the engine paints, all taken from the portrait itself, in its own colour balance.

Nothing here is a fixed colour or a fixed per-channel tint. A painted colour is a colour sampled from the
portrait (its lips, the skin under the nose, the whites of the eyes) made darker or lighter (its luma
scaled) and more or less saturated (its chroma, the colour minus its luma, scaled), which never changes its
hue. So a black-and-white portrait gets a grey mouth, a sepia print a sepia one, and a photo with an orange
or blue cast a mouth in the same cast; pale lips give a pale mouth, not a red one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...face.topology import LEFT_EYE, LIPS_INNER, LIPS_OUTER, RIGHT_EYE

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601 weights
# Teeth: a little brighter than the lit skin beside them, and on dark skin nearly as bright as the
# whites of the eyes, but never glowing. With no white in the photo at all, they take this share of
# the skin's colour cast.
TEETH_LIFT = 1.08
TEETH_FROM_EYES = 0.9
TEETH_MAX = 225.0
TEETH_CAST = 0.2
# The eye whites: the brightest quarter of the pixels inside the eyelids, if at least MIN_EYE_PIXELS
# (a tiny face or closed eyes have fewer). "Whites" more saturated than this share of the skin's
# saturation are lids and lashes of a narrowed eye; the photo's whitest pixels stand in.
EYE_WHITE_SHARE = 0.25
MIN_EYE_PIXELS = 12
EYE_WHITE_MAX_SATURATION = 0.75
# The photo's whitest pixels: of its brightest tenth, the least saturated tenth, leaving out pixels
# with a channel at CLIPPED or above (a clipped channel changes the hue). A "white" whose hue is more
# than WHITE_HUE_SPREAD degrees from the skin's is a coloured object.
WHITEST = (0.9, 0.1)
CLIPPED = 250
WHITE_HUE_SPREAD = 45.0
# Light and saturation of the lips' colour in the tongue, the wet inner rim of parted lips (also set
# apart from the skin like the seam) and the back of the mouth.
TONGUE = (0.8, 1.15)
INNER_RIM = (0.6, 1.5)
CAVITY = 0.1
# Where closed lips meet: the lips' colour moved three times as far again from the skin's, then
# darker and richer (amount, light, saturation).
SEAM = (3.0, 0.45, 2.5)
# Lips whose chromaticity is this far from the skin's or further are set apart from it by colour alone
# (the astronaut's pink lips are 0.075 from her skin, Grace Hopper's red ones 0.036: both partly pale).
DISTINCT_LIPS = 0.2
# A richer colour keeps every channel at least this share of its luma: clipped to black, a sepia brown
# would turn olive.
SATURATION_FLOOR = 0.25


def shade(
    colour: np.ndarray, light: float | np.ndarray, saturation: float | np.ndarray = 1.0
) -> np.ndarray:
    """`colour` (..., 3) with its luma scaled by `light` and its chroma by `light * saturation`: darker or
    richer in its own hue. `light` and `saturation` broadcast against `colour[..., 0]`-shaped arrays too."""
    colour = np.asarray(colour, np.float32)
    light = np.asarray(light, np.float32)
    saturation = np.asarray(saturation, np.float32)
    if light.ndim:
        light = light[..., None]
    if saturation.ndim:
        saturation = saturation[..., None]
    grey = (colour @ LUMA)[..., None]
    return np.maximum(grey * light + (colour - grey) * (light * saturation), 0.0)


@dataclass(frozen=True)
class MouthPalette:
    """A portrait's mouth colours (float32 RGB), each derived from its own pixels."""

    lip: np.ndarray
    """Median colour of the lips."""
    skin: np.ndarray
    """Median colour of the skin under the nose."""
    white: np.ndarray
    """What white looks like in this photo (its colour balance): the eye whites, else its whitest pixels."""
    eye_white: np.ndarray | None = None
    """Median colour of the whites of the eyes; None if not seen."""

    @classmethod
    def of(
        cls, image: np.ndarray, points: np.ndarray, face_height: float, down: np.ndarray
    ) -> MouthPalette:
        """Sample the lips, the philtrum's skin and the whites of the eyes of `image`."""
        below_nose = (
            points[2] + down * 0.04 * face_height
        )  # the philtrum: skin, rarely in deep shadow
        x, y = int(round(below_nose[0])), int(round(below_nose[1]))
        r = max(2, int(0.03 * face_height))
        skin = image[max(0, y - r) : y + r, max(0, x - r) : x + r].reshape(-1, 3)
        skin_colour = _median(skin) if len(skin) else _median(image.reshape(-1, 3))
        lip_colour = lip_colour_of(image, points)
        if lip_colour is None:
            lip_colour = skin_colour
        eye_white = _eye_white(image, points)
        if eye_white is not None and _saturation(
            eye_white
        ) > EYE_WHITE_MAX_SATURATION * _saturation(skin_colour):
            eye_white = None
        white = eye_white if eye_white is not None else _whitest(image)
        if white is None or not _whitish(white, skin_colour):
            cast = skin_colour / max(float(skin_colour.mean()), 1.0)
            white = (1 - TEETH_CAST + TEETH_CAST * cast) * 255.0
        return cls(lip_colour, skin_colour, white, eye_white)

    @property
    def teeth(self) -> np.ndarray:
        """Teeth in the photo's own white, as bright as the lit skin allows (or nearly the eye whites, when
        those are brighter: dark skin)."""
        brightness = float(self.skin.max()) * TEETH_LIFT
        if self.eye_white is not None:
            brightness = max(brightness, float(self.eye_white.max()) * TEETH_FROM_EYES)
        tone = self.white / max(float(self.white.max()), 1.0)
        return (min(brightness, TEETH_MAX) * tone).astype(np.float32)

    @property
    def tongue(self) -> np.ndarray:
        return shade(self.lip, *TONGUE)

    @property
    def inner_rim(self) -> np.ndarray:
        return shade(self.lip_set_apart(SEAM[0]), *INNER_RIM)

    @property
    def cavity(self) -> np.ndarray:
        return shade(self.lip, CAVITY)

    @property
    def seam(self) -> np.ndarray:
        """The shadow line between closed lips: the colour that sets lips apart from the skin, stronger."""
        amount, light, saturation = SEAM
        colour = self.lip_set_apart(amount)
        return shade(colour, light, min(saturation, _saturation_headroom(colour)))

    @property
    def paleness(self) -> float:
        """0 when the lips' colour sets them apart from the skin, up to 1 when they share its colour (a
        black-and-white or toned photo): how much the lips must be told from the skin by luminance."""
        distance = float(np.linalg.norm(_chromaticity(self.lip) - _chromaticity(self.skin)))
        return float(np.clip(1.0 - distance / DISTINCT_LIPS, 0.0, 1.0))

    def lip_set_apart(self, amount: float) -> np.ndarray:
        """The lips' colour moved `amount` times further from the skin's, in chromaticity (chroma over
        luma) at the lips' own luma: redder for red lips in a colour photo, nothing in a black-and-white
        or toned one, where lips and skin share one hue. Pale lips, less colourful than the skin, are left as
        they are: moved away from the skin they would turn blue."""
        luma = float(self.lip @ LUMA)
        own, skin = _chromaticity(self.lip), _chromaticity(self.skin)
        if float((own - skin) @ own) <= 0.0:
            return self.lip
        return np.maximum(self.lip + amount * (own - skin) * luma, 0.0).astype(np.float32)


def lip_colour_of(image: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """Median colour of the lips, between their outer and inner contours (not the teeth of a smile)."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[list(LIPS_OUTER)]).astype(np.int32)], 255)
    cv2.fillPoly(mask, [np.round(points[list(LIPS_INNER)]).astype(np.int32)], 0)
    lips = image[mask > 0]
    return _median(lips) if len(lips) else None


def _eye_white(image: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """Median colour of the brightest pixels inside both eyes' lids, or None if too few are seen."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for eye in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(mask, [np.round(points[list(eye)]).astype(np.int32)], 255)
    pixels = image[mask > 0].astype(np.float32)
    if len(pixels) < MIN_EYE_PIXELS / EYE_WHITE_SHARE:
        return None
    luma = pixels @ LUMA
    return _median(pixels[luma >= np.quantile(luma, 1 - EYE_WHITE_SHARE)])


def _whitest(image: np.ndarray) -> np.ndarray | None:
    """Median colour of the least saturated of the photo's brightest unclipped pixels: a white shirt, a
    highlight; in a black-and-white or toned photo, its paper's tone."""
    pixels = image.reshape(-1, 3)
    pixels = pixels[pixels.max(axis=1) < CLIPPED].astype(np.float32)
    if len(pixels) < 10:
        return None
    bright = pixels[pixels @ LUMA >= np.quantile(pixels @ LUMA, WHITEST[0])]
    saturation = np.ptp(bright, axis=1) / np.maximum(bright.max(axis=1), 1.0)
    return _median(bright[saturation <= np.quantile(saturation, WHITEST[1])])


def _whitish(white: np.ndarray, skin: np.ndarray) -> bool:
    """A white must be less saturated than the skin and, where it has a colour, share the skin's cast."""
    if _saturation(white) > _saturation(skin):
        return False
    chroma = white - float(white @ LUMA)
    if float(np.abs(chroma).max()) < 2.0:  # grey: no hue to compare
        return True
    skin_chroma = skin - float(skin @ LUMA)
    cosine = float(chroma @ skin_chroma) / max(
        float(np.linalg.norm(chroma) * np.linalg.norm(skin_chroma)), 1e-6
    )
    return cosine >= float(np.cos(np.radians(WHITE_HUE_SPREAD)))


def _saturation_headroom(colour: np.ndarray) -> float:
    """The largest chroma scale that keeps every channel of `colour` at `SATURATION_FLOOR` of its luma."""
    grey = float(colour @ LUMA)
    below = (colour - grey)[colour < grey]
    if grey <= 0.0 or not len(below):
        return float("inf")
    return float((1 - SATURATION_FLOOR) * grey / -below.min())


def _chromaticity(colour: np.ndarray) -> np.ndarray:
    """Chroma (the colour minus its luma) over luma."""
    luma = max(float(colour @ LUMA), 1.0)
    return (colour - luma) / luma


def _saturation(colour: np.ndarray) -> float:
    """Spread between the channels as a share of the brightest (HSV's saturation)."""
    return float((colour.max() - colour.min()) / max(float(colour.max()), 1.0))


def _median(pixels: np.ndarray) -> np.ndarray:
    return np.median(pixels.reshape(-1, 3), axis=0).astype(np.float32)
