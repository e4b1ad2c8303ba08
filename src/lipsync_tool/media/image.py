"""Load a portrait as 8-bit RGB, whatever its format, orientation, depth or alpha."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError

PORTRAIT_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
MIN_SHORT_SIDE = 64
MAX_PIXELS = 50_000_000
BACKGROUND = (255, 255, 255)


def _to_rgb8(image: Image.Image) -> Image.Image:
    """Flatten alpha onto white and bring any mode (L, I;16, CMYK, P, …) to 8-bit RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or wide.max() > 255 else 255.0
        image = Image.fromarray(np.clip(wide / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        wide = np.asarray(image, dtype=np.float64)
        top = max(float(wide.max()), 1e-9)
        image = Image.fromarray(np.clip(wide / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" or (image.mode in ("L", "RGB") and "transparency" in image.info):
        image = image.convert("RGBA")  # palette and colour-key (tRNS) transparency become alpha
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def load_portrait(path: Path) -> np.ndarray:
    """Read PORTRAIT into an HxWx3 uint8 RGB array, EXIF orientation applied; raise InputError if unusable."""
    if path.suffix.lower() not in PORTRAIT_SUFFIXES:
        allowed = ", ".join(s.lstrip(".") for s in PORTRAIT_SUFFIXES)
        raise InputError(
            f"PORTRAIT {path} has an unsupported type '{path.suffix}'; use one of: {allowed}"
        )
    try:
        with warnings.catch_warnings():  # our own 50 MP limit below replaces Pillow's bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)
        with opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise InputError(
                    f"PORTRAIT {path} is {width}x{height} ({width * height / 1e6:.0f} MP), over the 50 MP limit; "
                    "downscale it first"
                )
            oriented = ImageOps.exif_transpose(opened)
            rgb = _to_rgb8(oriented)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(
            f"PORTRAIT {path} is over the 50 MP limit ({exc}); downscale it first"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"cannot read PORTRAIT {path}: {exc}") from exc
    short = min(rgb.size)
    if short < MIN_SHORT_SIDE:
        raise InputError(
            f"PORTRAIT {path} is {rgb.size[0]}x{rgb.size[1]}, too small (under {MIN_SHORT_SIDE} px on the short side); "
            "use a larger photo"
        )
    return np.asarray(rgb, dtype=np.uint8).copy()
