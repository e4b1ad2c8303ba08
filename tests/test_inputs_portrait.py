"""Input validation of PORTRAIT: formats, orientation, transparency, bit depth, size and type."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.errors import InputError
from lipsync_tool.media.image import load_portrait

EXIF_ORIENTATION = 0x0112


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int32) - b.astype(np.int32)).mean())


# --- portraits ---------------------------------------------------------------------------------
PORTRAIT_FORMATS = [  # (suffix, save options, lossless)
    ("jpg", {"quality": 95}, False),
    ("jpeg", {"quality": 95}, False),
    ("JPG", {"quality": 95}, False),
    ("png", {}, True),
    ("webp", {"quality": 95}, False),
    ("bmp", {}, True),
    ("tiff", {}, True),
    ("tif", {"compression": "tiff_lzw"}, True),
]


@pytest.mark.parametrize(
    ("suffix", "save_options", "lossless"), PORTRAIT_FORMATS, ids=[f[0] for f in PORTRAIT_FORMATS]
)
def test_portrait_formats_load_as_8_bit_rgb(
    tmp_path: Path, astronaut: np.ndarray, suffix: str, save_options: dict, lossless: bool
) -> None:
    path = tmp_path / f"astronaut.{suffix}"
    Image.fromarray(astronaut).save(
        path, format=Image.registered_extensions()[f".{suffix.lower()}"], **save_options
    )
    image = load_portrait(path)
    assert image.shape == astronaut.shape and image.dtype == np.uint8
    if lossless:
        assert np.array_equal(image, astronaut)
    else:
        assert mean_abs_diff(image, astronaut) < 5


@pytest.mark.parametrize(
    ("orientation", "quarter_turns"), [(6, -1), (8, 1), (3, 2)], ids=["6-cw", "8-ccw", "3-180"]
)
def test_exif_orientation_is_applied(
    tmp_path: Path, astronaut: np.ndarray, orientation: int, quarter_turns: int
) -> None:
    """A camera JPEG stored sideways with an Orientation tag comes out the way it is meant to be seen."""
    stored = np.ascontiguousarray(
        astronaut[:, :320]
    )  # 512 tall, 320 wide: a quarter turn swaps the sides
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    path = tmp_path / "camera.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    image = load_portrait(path)
    expected = np.rot90(stored, quarter_turns)  # k=-1: clockwise, as tag 6 asks
    assert image.shape == expected.shape
    assert mean_abs_diff(image, expected) < 4
    if quarter_turns != 2:
        assert mean_abs_diff(image, np.rot90(stored, -quarter_turns)) > 20, "turned the wrong way"


def _rgba(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut with a fully transparent top-left corner and a half-transparent strip beside it."""
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:128, :128, 3] = 0
    rgba[:128, 128:256, 3] = 128
    return rgba


def test_alpha_is_flattened_onto_white(tmp_path: Path, astronaut: np.ndarray) -> None:
    rgba = _rgba(astronaut)
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba).save(path)
    image = load_portrait(path)
    assert image.shape == astronaut.shape
    assert (image[:128, :128] == 255).all(), (
        "a transparent pixel becomes white, not its hidden colour"
    )
    half = astronaut[:128, 128:256].astype(np.float64) * 128 / 255 + 255 * 127 / 255
    assert np.abs(image[:128, 128:256] - half).max() <= 1.5, (
        "half transparency is blended with white"
    )
    assert np.array_equal(image[200:], astronaut[200:]), "opaque pixels are untouched"


def _webp_rgba(astronaut: np.ndarray, path: Path) -> None:
    Image.fromarray(_rgba(astronaut)).save(path, lossless=True)


def _la_png(astronaut: np.ndarray, path: Path) -> None:
    Image.fromarray(_rgba(astronaut)).convert("LA").save(path)


def _palette_png(astronaut: np.ndarray, path: Path) -> None:
    palette = Image.fromarray(astronaut).quantize(255)  # indices 0-254
    pixels = np.asarray(palette).copy()
    pixels[:128, :128] = 255  # a 256th entry, black, marked transparent
    out = Image.fromarray(pixels, "P")
    out.putpalette(palette.getpalette()[: 255 * 3] + [0, 0, 0])
    out.save(path, transparency=255)


def _rgb_colour_key_png(astronaut: np.ndarray, path: Path) -> None:
    pixels = astronaut.copy()
    pixels[:128, :128] = (1, 2, 3)  # a tRNS colour key: every (1, 2, 3) pixel is transparent
    Image.fromarray(pixels).save(path, transparency=(1, 2, 3))


def _grey_colour_key_png(astronaut: np.ndarray, path: Path) -> None:
    grey = np.asarray(Image.fromarray(astronaut).convert("L")).copy()
    grey[grey == 0] = 1
    grey[:128, :128] = 0
    Image.fromarray(grey).save(path, transparency=0)


TRANSPARENCY_KINDS: dict[str, Callable[[np.ndarray, Path], None]] = {
    "rgba.webp": _webp_rgba,
    "la.png": _la_png,
    "palette.png": _palette_png,
    "rgb-colour-key.png": _rgb_colour_key_png,
    "grey-colour-key.png": _grey_colour_key_png,
}


@pytest.mark.parametrize("name", list(TRANSPARENCY_KINDS))
def test_every_kind_of_transparency_is_flattened_onto_white(
    tmp_path: Path, astronaut: np.ndarray, name: str
) -> None:
    path = tmp_path / name
    TRANSPARENCY_KINDS[name](astronaut, path)
    image = load_portrait(path)
    assert image.shape == astronaut.shape and image.dtype == np.uint8
    assert (image[:128, :128] == 255).all(), "transparent pixels become white"
    assert image[300:, 300:].mean() < 200, "the opaque photo is still there"


def test_grayscale_becomes_rgb(tmp_path: Path, astronaut: np.ndarray) -> None:
    grey = Image.fromarray(astronaut).convert("L")
    path = tmp_path / "grey.png"
    grey.save(path)
    image = load_portrait(path)
    assert image.shape == astronaut.shape and image.dtype == np.uint8
    for channel in range(3):
        assert np.array_equal(image[..., channel], np.asarray(grey))


def test_16_bit_png_is_scaled_to_8_bit(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 512), (128, 1)).round().astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I;16"  # precondition: Pillow reads it as 16-bit
    image = load_portrait(path)
    assert image.shape == (128, 512, 3) and image.dtype == np.uint8
    assert np.abs(image[..., 0].astype(int) - np.round(ramp / 257.0)).max() <= 1
    assert image[0, 0].tolist() == [0, 0, 0] and image[0, -1].tolist() == [255, 255, 255]


def test_dark_16_bit_png_stays_dark(tmp_path: Path) -> None:
    """Values up to 255 out of 65535 are near black, not an 8-bit picture in a 16-bit file."""
    dark = np.tile(np.linspace(0, 255, 256), (128, 1)).astype(np.uint16)
    path = tmp_path / "dark.png"
    Image.fromarray(dark).save(path)
    assert Image.open(path).mode == "I;16"
    image = load_portrait(path)
    assert image.max() <= 1


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "print.jpg"
    Image.fromarray(astronaut).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    image = load_portrait(path)
    assert image.shape == astronaut.shape and image.dtype == np.uint8
    assert mean_abs_diff(image, astronaut) < 8


@pytest.mark.parametrize("size", [(63, 500), (500, 63), (63, 63)])
def test_too_small_portrait_is_rejected(
    tmp_path: Path, astronaut: np.ndarray, size: tuple[int, int]
) -> None:
    path = tmp_path / "tiny.png"
    Image.fromarray(astronaut).resize(size).save(path)
    with pytest.raises(InputError, match="too small") as caught:
        load_portrait(path)
    assert f"{size[0]}x{size[1]}" in str(caught.value) and "64 px" in str(caught.value)


def test_64_px_on_the_short_side_is_enough(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "narrow.png"
    Image.fromarray(astronaut).resize((64, 300)).save(path)
    assert load_portrait(path).shape == (300, 64, 3)


@pytest.mark.parametrize(
    ("mode", "size"),
    [("L", (8000, 6300)), ("1", (10000, 9000)), ("1", (20000, 10000))],
    ids=["50.4MP", "90MP-pillow-warns", "200MP-pillow-refuses"],
)
def test_over_50_megapixels_is_rejected_without_a_warning(
    tmp_path: Path, mode: str, size: tuple[int, int]
) -> None:
    """Rejected from the header alone (fast), and with no Pillow warning: that would be a second stderr line."""
    path = tmp_path / "huge.png"
    Image.new(mode, size).save(path)  # all zeros: a few kB on disk
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="50 MP") as caught:
            load_portrait(path)
    assert str(path) in str(caught.value) and "downscale" in str(caught.value)


@pytest.mark.parametrize("name", ["portrait.gif", "portrait.heic", "portrait.svg", "portrait"])
def test_unsupported_portrait_type_is_rejected(
    tmp_path: Path, astronaut: np.ndarray, name: str
) -> None:
    path = tmp_path / name
    Image.fromarray(astronaut).save(path, format="PNG")  # a fine image: only the name is wrong
    with pytest.raises(InputError, match="unsupported type") as caught:
        load_portrait(path)
    assert "jpg" in str(caught.value) and "png" in str(caught.value)


@pytest.mark.parametrize("kind", ["text", "empty", "truncated"])
def test_a_file_that_is_not_an_image_is_rejected(
    tmp_path: Path, astronaut: np.ndarray, kind: str
) -> None:
    path = tmp_path / ("portrait.jpg" if kind == "truncated" else "portrait.png")
    if kind == "text":
        path.write_text("this is not a picture\n")
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        Image.fromarray(astronaut).save(path, quality=95)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match="cannot read PORTRAIT") as caught:
        load_portrait(path)
    assert str(path) in str(caught.value)
