"""Colour variants of a portrait, and the colour measures to check a render against it.

Every function is pure: a numpy uint8 RGB image (H, W, 3) in, a new one (or a number) out. They stand in
for real inputs the sample portraits do not cover: black-and-white and sepia photos, colour casts
(tungsten, shade), dark skin and pale lips.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601, as JPEG and PIL's "L" use
SEPIA_TONE = (1.0, 0.8, 0.58)  # a warm brown toner: white paper stays near white, shadows go brown
TUNGSTEN = (1.25, 1.0, 0.68)  # an indoor bulb on daylight film: orange
SHADE = (0.8, 0.97, 1.3)  # open shade on a clear day: blue


def _u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def luma(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 Rec. 601 luma."""
    return image.astype(np.float32) @ LUMA


def grayscale(image: np.ndarray) -> np.ndarray:
    """A black-and-white photo: luma in all three channels."""
    return _u8(np.repeat(luma(image)[..., None], 3, axis=2))


def sepia(image: np.ndarray, tone: tuple[float, float, float] = SEPIA_TONE) -> np.ndarray:
    """A toned print: luma times one brown, so every pixel has the same hue."""
    return _u8(luma(image)[..., None] * np.asarray(tone, np.float32))


def cast(image: np.ndarray, gain: tuple[float, float, float]) -> np.ndarray:
    """A colour cast: each channel scaled by `gain`, normalised so the luma of grey is kept."""
    gains = np.asarray(gain, np.float32)
    return _u8(image.astype(np.float32) * gains / float(gains @ LUMA))


def darken(image: np.ndarray, gain: float) -> np.ndarray:
    """Darker, as a darker skin or a darker exposure: linear light scaled by `gain`."""
    linear = (image.astype(np.float32) / 255.0) ** 2.2
    return _u8(255.0 * (linear * gain) ** (1 / 2.2))


def desaturate(image: np.ndarray, keep: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Colour pulled towards grey (`keep` of it left), everywhere or where the (H, W) 0..1 `mask` says."""
    pixels = image.astype(np.float32)
    grey = luma(image)[..., None]
    weight = 1.0 if mask is None else np.asarray(mask, np.float32)[..., None]
    return _u8(pixels + (grey + keep * (pixels - grey) - pixels) * weight)


def chroma(image: np.ndarray) -> np.ndarray:
    """(H, W) spread between the channels (max - min): 0 on any grey."""
    pixels = image.astype(np.int16)
    return (pixels.max(axis=2) - pixels.min(axis=2)).astype(np.float32)


def hue_degrees(pixels: np.ndarray) -> float:
    """Hue angle (degrees, YUV's U-V plane) of the mean chroma of (N, 3) RGB pixels."""
    values = pixels.reshape(-1, 3).astype(np.float32)
    y = values @ LUMA
    u = float(np.mean(values[:, 2] - y))
    v = float(np.mean(values[:, 0] - y))
    return float(np.degrees(np.arctan2(v, u)))


def hue_difference(a: float, b: float) -> float:
    """Smallest angle between two hues, in degrees."""
    return float(abs((a - b + 180.0) % 360.0 - 180.0))
