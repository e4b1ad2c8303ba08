"""Hard versions of a portrait (the gallery's variants) and the colour measures to check a render by.

Pure numpy/OpenCV functions with no knowledge of faces beyond what their arguments say, so a test
can apply them to any portrait and a benchmark can load this module by path. They stand in for real
inputs the sample portraits do not cover: black-and-white and sepia photos, colour casts (tungsten,
shade), dark and low-contrast exposures, JPEG damage, small, tilted, turned and open-mouthed faces.
"""

from __future__ import annotations

import cv2
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


FACE_HEIGHT_SMALL = 90
"""Pixels from the forehead to the chin that `downscale_to_face` aims for by default."""


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image, got {image.dtype} {image.shape}")
    return image


def dark(image: np.ndarray, gamma: float = 2.2) -> np.ndarray:
    """The portrait darkened by a gamma curve (2.2: mid-grey 128 becomes 56)."""
    lut = np.round(255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8)
    return lut[_rgb(image)]


def low_contrast(image: np.ndarray, keep: float = 0.35) -> np.ndarray:
    """The portrait's contrast cut to `keep` of itself around its mean grey."""
    pixels = _rgb(image).astype(np.float32)
    mean = float(pixels.mean())
    return np.clip(mean + (pixels - mean) * keep + 0.5, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int = 25) -> np.ndarray:
    """The portrait after one round of JPEG coding at `quality` (blocks and ringing)."""
    ok, data = cv2.imencode(".jpg", _rgb(image)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG coding failed")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def downscale_to_face(
    image: np.ndarray, face_height: float, target: float = FACE_HEIGHT_SMALL
) -> np.ndarray:
    """The portrait shrunk so that a face `face_height` px tall becomes `target` px tall."""
    scale = target / face_height
    if scale >= 1.0:
        return _rgb(image).copy()
    height, width = image.shape[:2]
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    return cv2.resize(_rgb(image), size, interpolation=cv2.INTER_AREA)


def roll(image: np.ndarray, degrees: float) -> np.ndarray:
    """The portrait turned in its plane by `degrees` (positive: anticlockwise on screen), edges mirrored."""
    height, width = _rgb(image).shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101
    )


def squeeze(image: np.ndarray, keep: float = 0.7) -> np.ndarray:
    """The portrait narrowed to `keep` of its width: a flat stand-in for a face turned away."""
    height, width = _rgb(image).shape[:2]
    return cv2.resize(image, (max(2, round(width * keep)), height), interpolation=cv2.INTER_AREA)


def mirror(image: np.ndarray) -> np.ndarray:
    """The portrait flipped left to right."""
    return np.ascontiguousarray(_rgb(image)[:, ::-1])


def face_height(points: np.ndarray) -> float:
    """Forehead-to-chin length (px) of a face from its (468, 2+) mesh landmarks."""
    from lipsync_tool.face.frame import FaceFrame

    return FaceFrame.from_points(np.asarray(points)[:, :2].astype(np.float64)).height


def open_mouth(image: np.ndarray, points: np.ndarray, opening: float = 1.0) -> np.ndarray:
    """The portrait with its mouth opened by the warp engine (an open vowel): a photo taken mid-speech."""
    from lipsync_tool.engine.warp.mouth_warp import MouthWarp

    return MouthWarp(_rgb(image), np.asarray(points)[:, :2]).frame(opening)


VARIANTS = (
    "original",
    "dark",
    "low_contrast",
    "jpeg25",
    "face90px",
    "roll+15",
    "roll-15",
    "squeeze70",
    "mirror",
    "open_mouth",
    "grayscale",
    "sepia",
    "shade",
)
"""The gallery's variants, in the order `gallery` makes them."""


def gallery(image: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]:
    """Every variant of one portrait, by name (`VARIANTS`); `points` are its mesh landmarks."""
    builders = {
        "original": lambda: _rgb(image),
        "dark": lambda: dark(image),
        "low_contrast": lambda: low_contrast(image),
        "jpeg25": lambda: jpeg(image),
        "face90px": lambda: downscale_to_face(image, face_height(points)),
        "roll+15": lambda: roll(image, 15.0),
        "roll-15": lambda: roll(image, -15.0),
        "squeeze70": lambda: squeeze(image),
        "mirror": lambda: mirror(image),
        "open_mouth": lambda: open_mouth(image, points),
        "grayscale": lambda: grayscale(image),
        "sepia": lambda: sepia(image),
        "shade": lambda: cast(image, SHADE),
    }
    return {name: builders[name]() for name in VARIANTS}
