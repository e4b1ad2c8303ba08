"""Hard versions of a portrait, for the gallery: each builder takes and returns an RGB uint8 image.

Pure numpy/OpenCV functions with no knowledge of faces beyond what their arguments say, so a test
can apply them to any portrait and a benchmark can load this module by path.
"""

from __future__ import annotations

import cv2
import numpy as np

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
    }
    return {name: builders[name]() for name in VARIANTS}
