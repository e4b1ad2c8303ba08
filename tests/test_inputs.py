"""Input validation: portraits, speech audio and OUTPUT, down to the one-line CLI error that writes nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import warnings
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.cli import main
from lipsync_tool.errors import InputError
from lipsync_tool.media.audio import ANALYSIS_RATE, decode_speech
from lipsync_tool.media.image import load_portrait
from lipsync_tool.media.output import OutputTarget, resolve_output
from lipsync_tool.media.probe import probe

from .conftest import speech_like, write_wav

skimage_data = pytest.importorskip("skimage.data")
cbook = pytest.importorskip("matplotlib.cbook")

EXIF_ORIENTATION = 0x0112
SPEECH = (1.2, 2.8)  # inside the voiced 1-3 s of the fixture's bursts.wav
QUIET = (0.0, 0.8)


# --- helpers and fixtures ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(skimage_data.astronaut())


@pytest.fixture(scope="module")
def analyzer() -> object:
    from lipsync_tool.face.analyzer import FaceAnalyzer

    return FaceAnalyzer()


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int32) - b.astype(np.int32)).mean())


def read_wav(path: Path) -> np.ndarray:
    """A 16-bit mono WAV as float samples in [-1, 1]: the reference the decoders are held to."""
    with wave.open(str(path), "rb") as handle:
        assert handle.getnchannels() == 1 and handle.getsampwidth() == 2
        return (
            np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float64)
            / 32768.0
        )


def rms(samples: np.ndarray, start: float, end: float, rate: int = ANALYSIS_RATE) -> float:
    part = samples[int(start * rate) : int(end * rate)].astype(np.float64)
    return float(np.sqrt(np.mean(part**2)))


def loudness_envelope(
    samples: np.ndarray, rate: int = ANALYSIS_RATE, window: float = 0.025, hop: float = 0.005
) -> np.ndarray:
    """RMS in 25 ms windows every 5 ms."""
    width, step = int(window * rate), int(hop * rate)
    squares = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    starts = np.arange(0, len(samples) - width + 1, step)
    return np.sqrt((squares[starts + width] - squares[starts]) / width)


def best_envelope_match(
    decoded: np.ndarray, reference: np.ndarray, max_lag: float = 0.15
) -> tuple[float, float]:
    """(lag in seconds, correlation) of the best-matching shift of the two loudness envelopes."""
    a, b = loudness_envelope(reference), loudness_envelope(decoded)
    best = (0.0, -1.0)
    for lag in range(-int(max_lag / 0.005), int(max_lag / 0.005) + 1):
        ref = a[max(0, -lag) : len(a) - max(0, lag)]
        dec = b[max(0, lag) : max(0, lag) + len(ref)]
        n = min(len(ref), len(dec))
        r = float(np.corrcoef(ref[:n], dec[:n])[0, 1])
        if r > best[1]:
            best = (lag * 0.005, r)
    return best


def run_ffmpeg_to(ffmpeg: str, output: Path, *args: str) -> Path:
    subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(output)],
        check=True,
    )
    return output


def video_with_audio(ffmpeg: str, wav: Path, output: Path) -> Path:
    """A small H.264 + AAC video whose sound track is `wav` (black 64x64 picture)."""
    return run_ffmpeg_to(
        ffmpeg,
        output,
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=64x64:r=25",
        "-i",
        str(wav),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-shortest",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "aac",
    )


def video_without_audio(ffmpeg: str, output: Path) -> Path:
    return run_ffmpeg_to(
        ffmpeg,
        output,
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=64x64:r=25:d=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    )


def empty_wav(path: Path) -> Path:
    """A valid WAV header with no frames."""
    return write_wav(path, np.zeros(0, np.float32))


def faceless_portrait(path: Path) -> Path:
    """skimage's coffee cup: a real photo with no face in it."""
    Image.fromarray(skimage_data.coffee()).save(path)
    return path


def two_faces(path: Path, astronaut: np.ndarray, astronaut_first: bool = True) -> Path:
    """The astronaut at full size beside a smaller Grace Hopper (her face is clearly the smaller one)."""
    grace = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")
    grace = grace.resize((200, round(200 * grace.height / grace.width)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (512 + grace.width, 512), (255, 255, 255))
    big_x, small_x = (0, 512) if astronaut_first else (grace.width, 0)
    canvas.paste(Image.fromarray(astronaut), (big_x, 0))
    canvas.paste(grace, (small_x, 512 - grace.height))
    canvas.save(path)
    return path


def folder_state(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder`, files with their content hash: to prove nothing was written."""
    state = {}
    for item in sorted(folder.rglob("*")):
        name = str(item.relative_to(folder))
        state[name] = hashlib.sha256(item.read_bytes()).hexdigest() if item.is_file() else "<dir>"
    return state


def partial_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.partial.*"))


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


# --- speech audio ------------------------------------------------------------------------------
# name: (file name, ffmpeg output options, duration tolerance s, largest envelope lag s)
ENCODINGS = {
    "mp3": ("speech.mp3", ["-c:a", "libmp3lame", "-b:a", "64k"], 0.05, 0.01),
    "m4a-aac": ("speech.m4a", ["-c:a", "aac", "-b:a", "96k"], 0.05, 0.01),
    # ADTS has no field for the encoder's 1024 priming samples, so every decoder returns them:
    # the stream is 64 ms late and ~0.1 s long by construction of the format.
    "aac-adts": ("speech.aac", ["-c:a", "aac", "-b:a", "96k"], 0.15, 0.1),
    "ogg-vorbis": ("speech.ogg", ["-c:a", "libvorbis", "-q:a", "4"], 0.05, 0.01),
    "opus": ("speech.opus", ["-c:a", "libopus", "-b:a", "48k"], 0.05, 0.01),
    "flac": ("speech.flac", ["-c:a", "flac"], 0.05, 0.01),
    "wav-8k-mono": ("speech-8k.wav", ["-ar", "8000", "-ac", "1"], 0.05, 0.01),
    "wav-48k-stereo": ("speech-48k.wav", ["-ar", "48000", "-ac", "2"], 0.05, 0.01),
    "wav-22k-5.1": ("speech-6ch.wav", ["-ar", "22050", "-ac", "6"], 0.05, 0.01),
}


@pytest.fixture(scope="module")
def encoded_speech(
    tmp_path_factory: pytest.TempPathFactory, ffmpeg: str, assets: Path
) -> dict[str, Path]:
    """The fixture speech in every container and codec we claim to read, plus inside a video file."""
    folder = tmp_path_factory.mktemp("encoded")
    source = assets / "bursts.wav"
    files = {
        name: run_ffmpeg_to(ffmpeg, folder / file, "-i", str(source), *options)
        for name, (file, options, _, _) in ENCODINGS.items()
    }
    files["mp4-video"] = video_with_audio(ffmpeg, source, folder / "speech-video.mp4")
    return files


@pytest.mark.parametrize("name", [*ENCODINGS, "mp4-video"])
def test_speech_decodes_to_16_khz_mono_with_its_timing(
    encoded_speech: dict[str, Path], assets: Path, ffmpeg: str, tmp_path: Path, name: str
) -> None:
    reference = read_wav(assets / "bursts.wav")
    _, _, duration_tolerance, max_lag = ENCODINGS.get(name, (None, None, 0.05, 0.01))
    speech = decode_speech(ffmpeg, encoded_speech[name], max_duration=600)
    loud, quiet = rms(speech.samples, *SPEECH), rms(speech.samples, *QUIET)
    lag, correlation = best_envelope_match(speech.samples, reference)
    measured = {
        "duration": speech.duration,
        "rms_speech": loud,
        "rms_quiet": quiet,
        "lag_s": lag,
        "r": correlation,
    }
    (tmp_path / f"{name}.json").write_text(json.dumps(measured, indent=1))
    assert speech.sample_rate == ANALYSIS_RATE == 16000
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert speech.source == encoded_speech[name]
    assert abs(speech.duration - len(reference) / 16000) <= duration_tolerance, (
        f"{speech.duration:.3f} s"
    )
    assert loud > 100 * max(quiet, 1e-6), f"speech RMS {loud:.4f} vs silence RMS {quiet:.6f}"
    assert abs(lag) <= max_lag and correlation > 0.95, (
        f"envelope: lag {lag * 1000:.0f} ms, r={correlation:.3f}"
    )
    assert not speech.is_silent


def test_silent_audio_decodes_and_is_flagged_silent(assets: Path, ffmpeg: str) -> None:
    speech = decode_speech(ffmpeg, assets / "silence.wav", max_duration=600)
    assert abs(speech.duration - 2.0) < 0.01
    assert speech.is_silent


def _empty_file(d: Path, ffmpeg: str) -> Path:
    (d / "empty.wav").write_bytes(b"")
    return d / "empty.wav"


def _random_bytes(d: Path, ffmpeg: str) -> Path:
    (d / "noise.mp3").write_bytes(np.random.default_rng(7).bytes(20000))
    return d / "noise.mp3"


def _text_file(d: Path, ffmpeg: str) -> Path:
    (d / "notes.wav").write_text("hello\n")
    return d / "notes.wav"


BAD_AUDIO: dict[str, tuple[Callable[[Path, str], Path], str]] = {
    "empty": (_empty_file, r"is empty \(0 bytes\)"),
    "random-bytes": (_random_bytes, "cannot read AUDIO .* not a media file ffmpeg can decode"),
    "text": (_text_file, "cannot read AUDIO"),
    "video-without-audio": (
        lambda d, f: video_without_audio(f, d / "mute.mp4"),
        "has no audio track",
    ),
    "zero-samples": (lambda d, f: empty_wav(d / "nothing.wav"), "decodes to zero samples"),
}


@pytest.mark.parametrize("name", list(BAD_AUDIO))
def test_unusable_audio_is_a_clear_input_error(tmp_path: Path, ffmpeg: str, name: str) -> None:
    make, message = BAD_AUDIO[name]
    path = make(tmp_path, ffmpeg)
    with pytest.raises(InputError, match=message) as caught:
        decode_speech(ffmpeg, path, max_duration=600)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "max_duration", [1.0, 3.5], ids=["caught-by-the-probe", "caught-after-decoding"]
)
def test_too_long_audio_names_the_flag(assets: Path, ffmpeg: str, max_duration: float) -> None:
    """4 s of speech: far over 1 s is caught from the container; 3.5 s is within the probe's slack, caught after decoding."""
    with pytest.raises(InputError, match="--max-duration") as caught:
        decode_speech(ffmpeg, assets / "bursts.wav", max_duration=max_duration)
    assert f"{max_duration:g} s limit" in str(caught.value)


def test_audio_exactly_at_the_limit_is_accepted(assets: Path, ffmpeg: str) -> None:
    assert decode_speech(ffmpeg, assets / "bursts.wav", max_duration=4.0).duration == pytest.approx(
        4.0
    )


# --- output ------------------------------------------------------------------------------------
def test_output_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as caught:
        resolve_output(tmp_path / "missing" / "out.mp4", [], overwrite=True)
    assert str(tmp_path / "missing") in str(caught.value)


@pytest.fixture()
def video_input(tmp_path: Path, assets: Path, ffmpeg: str) -> Path:
    """An input that is a legal output name: speech inside an mp4."""
    (tmp_path / "clips").mkdir()
    return video_with_audio(ffmpeg, assets / "bursts.wav", tmp_path / "clips" / "talk.mp4")


SPELLINGS: dict[str, Callable[[Path], Path]] = {
    "same": lambda p: p,
    "dot-dot": lambda p: p.parent / ".." / p.parent.name / p.name,
    "dot": lambda p: p.parent / "." / p.name,
    "relative": lambda p: Path(os.path.relpath(p)),
    "symlink": lambda p: _link(p, os.symlink),
    "hard-link": lambda p: _link(p, os.link),
}


def _link(target: Path, make: Callable[[Path, Path], None]) -> Path:
    link = target.parent.parent / f"link-to-{target.name}"
    make(target, link)
    return link


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_output_is_never_an_input(
    video_input: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.chdir(video_input.parent.parent)
    output = SPELLINGS[spelling](video_input)
    before = video_input.read_bytes()
    with pytest.raises(InputError, match="one of the input files"):
        resolve_output(output, [Path("/elsewhere/portrait.png"), video_input], overwrite=True)
    assert video_input.read_bytes() == before


def test_existing_output_is_kept_without_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "out.mp4"
    existing.write_bytes(b"keep me")
    with pytest.raises(InputError, match="already exists; pass --overwrite"):
        resolve_output(existing, [], overwrite=False)
    target = resolve_output(existing, [], overwrite=True)
    assert target.path == existing and target.overwrite
    assert existing.read_bytes() == b"keep me", "resolving never touches the file"


@pytest.mark.parametrize(
    ("name", "container"),
    [
        ("out.mp4", "mp4"),
        ("out.mov", "mov"),
        ("out.mkv", "matroska"),
        ("out.webm", "webm"),
        ("OUT.MP4", "mp4"),
        ("out", "mp4"),
    ],
)
def test_the_extension_decides_the_container(tmp_path: Path, name: str, container: str) -> None:
    target = resolve_output(tmp_path / name, [], overwrite=False)
    assert target.container == container
    assert target.path.is_absolute()
    if "." not in name:
        assert target.path == tmp_path / f"{name}.mp4", "no extension: .mp4 is appended"


@pytest.mark.parametrize("name", ["out.avi", "out.wav", "out.gif", "out.mp4.txt", "out.MPG"])
def test_unknown_output_extension_is_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="unsupported extension") as caught:
        resolve_output(tmp_path / name, [], overwrite=True)
    assert ".mp4" in str(caught.value) and ".webm" in str(caught.value)


@pytest.mark.parametrize("name", ["renders", "renders.mp4"])
def test_output_that_is_a_folder_is_rejected(tmp_path: Path, name: str) -> None:
    """`lipsync-tool p.jpg a.wav renders/` must not quietly write renders.mp4 beside the folder."""
    (tmp_path / name).mkdir()
    with pytest.raises(InputError, match="is a directory"):
        resolve_output(tmp_path / name, [], overwrite=True)


def test_partial_file_is_hidden_beside_the_output(tmp_path: Path) -> None:
    target = resolve_output(tmp_path / "out.mkv", [], overwrite=False)
    first, second = target.partial_path(), target.partial_path()
    assert first.parent == tmp_path and first != second
    assert first.name.startswith(".out.") and first.match(".*.partial.*") and first.suffix == ".mkv"


def test_commit_never_clobbers_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    target = resolve_output(tmp_path / "out.mp4", [], overwrite=False)
    (tmp_path / "out.mp4").write_bytes(b"someone else's")
    partial = target.partial_path()
    partial.write_bytes(b"ours")
    with pytest.raises(InputError, match="already exists"):
        target.commit(partial)
    assert (tmp_path / "out.mp4").read_bytes() == b"someone else's"
    assert not partial_files(tmp_path)
    replacing = OutputTarget(tmp_path / "out.mp4", overwrite=True)
    partial.write_bytes(b"ours")
    replacing.commit(partial)
    assert (tmp_path / "out.mp4").read_bytes() == b"ours" and not partial_files(tmp_path)


# --- the CLI: one line, exit 2, nothing written ------------------------------------------------
def _argv(
    d: Path,
    portrait: str = "astronaut.png",
    audio: str = "bursts.wav",
    output: str = "out/result.mp4",
) -> list[str]:
    return [str(d / portrait), str(d / audio), str(d / output)]


def _with_portrait(make: Callable[[Path], object], name: str) -> Callable[[Path, str], list[str]]:
    def case(d: Path, ffmpeg: str) -> list[str]:
        make(d / name)
        return _argv(d, portrait=name)

    return case


def _with_audio(make: Callable[[Path, str], Path]) -> Callable[[Path, str], list[str]]:
    def case(d: Path, ffmpeg: str) -> list[str]:
        return _argv(d, audio=make(d, ffmpeg).name)

    return case


def _small_portrait(path: Path) -> None:
    Image.open(path.parent / "astronaut.png").resize((63, 63)).save(path)


def _existing_output(d: Path, ffmpeg: str) -> list[str]:
    (d / "out" / "result.mp4").write_bytes(b"an earlier render")
    return _argv(d)


def _output_is_the_audio(d: Path, ffmpeg: str) -> list[str]:
    video_with_audio(ffmpeg, d / "bursts.wav", d / "out" / "talk.mp4")
    return _argv(d, audio="out/talk.mp4", output="out/../out/talk.mp4")


def _no_extension_then_bad_audio(d: Path, ffmpeg: str) -> list[str]:
    """The note about appending .mp4 must not become a second stderr line when the run then fails."""
    return _argv(d, audio=_empty_file(d, ffmpeg).name, output="out/result")


CLI_FAILURES: dict[str, tuple[Callable[[Path, str], list[str]], str]] = {
    "missing-portrait": (
        lambda d, f: _argv(d, portrait="nobody.png"),
        "PORTRAIT .*nobody.png does not exist",
    ),
    "no-face": (
        _with_portrait(faceless_portrait, "coffee.png"),
        "^error: no face found in PORTRAIT .*coffee.png",
    ),
    "too-small-portrait": (_with_portrait(_small_portrait, "tiny.png"), "63x63, too small"),
    "portrait-not-an-image": (
        _with_portrait(lambda p: p.write_text("text"), "fake.png"),
        "cannot read PORTRAIT",
    ),
    "empty-audio": (_with_audio(_empty_file), "AUDIO .*empty.wav is empty"),
    "undecodable-audio": (_with_audio(_random_bytes), "cannot read AUDIO .*noise.mp3"),
    "zero-sample-audio": (_with_audio(lambda d, f: empty_wav(d / "nothing.wav")), "zero samples"),
    "audio-without-sound-track": (
        _with_audio(lambda d, f: video_without_audio(f, d / "mute.mp4")),
        "no audio track",
    ),
    "too-long-audio": (
        lambda d, f: [*_argv(d), "--max-duration", "1"],
        "over the 1 s limit.*--max-duration",
    ),
    "existing-output": (_existing_output, "already exists; pass --overwrite"),
    "output-is-an-input": (_output_is_the_audio, "one of the input files"),
    "missing-output-folder": (
        lambda d, f: _argv(d, output="nowhere/result.mp4"),
        "folder of OUTPUT does not exist",
    ),
    "unknown-output-extension": (
        lambda d, f: _argv(d, output="out/result.avi"),
        "unsupported extension '.avi'",
    ),
    "output-is-a-folder": (lambda d, f: _argv(d, output="out"), "is a directory"),
    "no-extension-then-bad-audio": (_no_extension_then_bad_audio, "is empty"),
}


@pytest.mark.parametrize("case", list(CLI_FAILURES))
def test_bad_input_is_one_error_line_exit_2_and_nothing_written(
    workdir: Path, ffmpeg: str, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make, message = CLI_FAILURES[case]
    (workdir / "out").mkdir()
    argv = make(workdir, ffmpeg)
    before = folder_state(workdir)
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert re.search(message, lines[0]), lines[0]
    assert folder_state(workdir) == before, (
        "nothing written, nothing changed (the existing output byte for byte)"
    )
    assert not partial_files(workdir)


def test_the_faceless_portrait_really_has_no_face(tmp_path: Path, analyzer: object) -> None:
    """Precondition of the no-face CLI case: the analyzer finds nothing in the coffee photo."""
    image = load_portrait(faceless_portrait(tmp_path / "coffee.png"))
    with pytest.raises(InputError):
        analyzer.analyze(image)  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["no-face", "undecodable-audio", "huge-portrait"])
def test_real_process_exit_code_and_single_stderr_line(workdir: Path, case: str) -> None:
    """`python -m lipsync_tool` as a user runs it: native libraries and Python warnings write to the same stderr."""
    (workdir / "out").mkdir()
    if case == "huge-portrait":  # 90 MP: over our limit and over Pillow's warning threshold
        Image.new("1", (10000, 9000)).save(workdir / "huge.png")
        argv, message = _argv(workdir, portrait="huge.png"), "50 MP"
    else:
        make, message = CLI_FAILURES[case]
        argv = make(workdir, "")
    before = folder_state(workdir)
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    proc = subprocess.run(
        [sys.executable, "-m", "lipsync_tool", *argv],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert re.search(message, lines[0])
    assert folder_state(workdir) == before and not partial_files(workdir)


def test_silent_audio_warns_but_renders(
    workdir: Path, ffmpeg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    audio = write_wav(workdir / "quiet.wav", np.zeros(16000, np.float32))
    out = workdir / "quiet.mp4"
    code = main([str(workdir / "astronaut.png"), str(audio), str(out), "--no-upscale"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert any("silent" in line and "quiet.wav" in line for line in captured.err.splitlines())
    assert not any(line.startswith("error: ") for line in captured.err.splitlines())
    info = probe(ffmpeg, out)
    assert info.video is not None and info.audio is not None
    assert (info.video.width, info.video.height) == (512, 512)
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert not partial_files(workdir)


def test_overwrite_replaces_an_existing_output(
    workdir: Path, ffmpeg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    audio = write_wav(workdir / "short.wav", speech_like(1.0, [(0.2, 0.8)]))
    out = workdir / "result.mov"
    out.write_bytes(b"an earlier render")
    code = main(
        [str(workdir / "astronaut.png"), str(audio), str(out), "--no-upscale", "--overwrite"]
    )
    assert code == 0, capsys.readouterr().err
    info = probe(ffmpeg, out)
    assert info.video is not None and info.audio is not None
    assert out.read_bytes()[4:12] == b"ftypqt  ", "a QuickTime file, as the .mov extension asks"
    assert not partial_files(workdir)


# --- several faces -------------------------------------------------------------------------------
@pytest.mark.parametrize("astronaut_first", [True, False], ids=["largest-left", "largest-right"])
def test_several_faces_the_largest_is_used_and_counted(
    tmp_path: Path,
    assets: Path,
    astronaut: np.ndarray,
    caplog: pytest.LogCaptureFixture,
    astronaut_first: bool,
) -> None:
    from lipsync_tool.pipeline import LipSyncPipeline

    portrait = two_faces(tmp_path / "two.png", astronaut, astronaut_first)
    out = tmp_path / "out.mp4"
    pipeline = LipSyncPipeline()
    with caplog.at_level(logging.WARNING, logger="lipsync_tool"):
        plan = pipeline.plan(portrait, assets / "bursts.wav", out)
    assert plan.faces_seen == 2
    face_warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "face" in r.getMessage()
    ]
    assert len(face_warnings) == 1 and "2 faces" in face_warnings[0], face_warnings
    assert not out.exists() and not partial_files(tmp_path), "a plan renders nothing"
    face = pipeline.analyzer.analyze(load_portrait(portrait))
    astronaut_x = (0, 512) if astronaut_first else (200, 712)
    assert astronaut_x[0] <= face.box.x0 and face.box.x1 <= astronaut_x[1], (
        "the astronaut's face is the largest"
    )
    (tmp_path / "plan.json").write_text(
        json.dumps(
            {
                "faces_seen": plan.faces_seen,
                "box": [face.box.x0, face.box.y0, face.box.x1, face.box.y1],
            }
        )
    )


def test_a_warning_logged_before_a_failure_adds_no_stderr_line(
    workdir: Path, astronaut: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    portrait = two_faces(workdir / "two.png", astronaut)
    (workdir / "empty.wav").write_bytes(b"")
    code = main([str(portrait), str(workdir / "empty.wav"), str(workdir / "o.mp4")])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
