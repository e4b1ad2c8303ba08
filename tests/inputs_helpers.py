"""Shared by the tests/test_inputs_*.py files: sample photos, media files made with ffmpeg, folder checks."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import write_wav

skimage_data = pytest.importorskip("skimage.data")
cbook = pytest.importorskip("matplotlib.cbook")


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


def _empty_file(d: Path, ffmpeg: str) -> Path:
    (d / "empty.wav").write_bytes(b"")
    return d / "empty.wav"


def _random_bytes(d: Path, ffmpeg: str) -> Path:
    (d / "noise.mp3").write_bytes(np.random.default_rng(7).bytes(20000))
    return d / "noise.mp3"
