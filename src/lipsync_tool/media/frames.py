"""Decode a video's frames as RGB arrays (to measure what an engine made, or to enlarge its clip)."""

from __future__ import annotations

import subprocess
from collections.abc import Generator
from pathlib import Path

import numpy as np

from ..errors import MediaError
from .ffmpeg import stderr_tail
from .probe import probe


def iter_frames(
    ffmpeg: str, path: Path, *, height: int | None = None, fps: float | None = None
) -> Generator[np.ndarray, None, None]:
    """Yield every frame of `path` as HxWx3 uint8 RGB, optionally scaled to `height` lines and
    resampled to `fps` frames a second."""
    info = probe(ffmpeg, path)
    if info.video is None or not info.video.width or not info.video.height:
        raise MediaError(f"{path} has no video stream")
    width, lines = info.video.width, info.video.height
    args = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-map",
        "0:v:0",
    ]
    filters = [] if fps is None else [f"fps={fps:g}"]
    if height is not None:
        width = int(round(width * height / lines / 2)) * 2
        lines = height
        filters.append(f"scale={width}:{lines}:flags=area")
    if filters:
        args += ["-vf", ",".join(filters)]
    args += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    frame_bytes = width * lines * 3
    try:
        while True:
            chunk = proc.stdout.read(frame_bytes)
            if len(chunk) < frame_bytes:
                break
            yield np.frombuffer(chunk, np.uint8).reshape(lines, width, 3)
    finally:
        proc.stdout.close()
        error = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise MediaError(f"ffmpeg failed while decoding {path}: {stderr_tail(error)}")
