"""Read container facts (duration, streams) from ffmpeg's own report; no ffprobe needed."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import MediaError
from .ffmpeg import stderr_tail

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+(?:\[\w+\])?(?:\(\w+\))?: (Video|Audio): (\w+)(.*)")
_SIZE = re.compile(r"(?<![\w])(\d{2,5})x(\d{2,5})(?![\w])")
_FPS = re.compile(r"(\d+(?:\.\d+)?(?:k)?) fps")
_RATE = re.compile(r"(\d+) Hz")
_LAYOUT = re.compile(r"\d+ Hz, ([^,]+)")
_COUNT = re.compile(r"(\d+) channels")
DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 8: "7.1"}
"""ffmpeg's default layout for a channel count (a WAV without a channel mask reports only a count)."""


@dataclass(frozen=True)
class StreamInfo:
    """One audio or video stream of a media file."""

    kind: str
    codec: str
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None
    sample_rate: int | None = None
    detail: str = ""

    @property
    def channel_layout(self) -> str | None:
        """The audio's channel layout as ffmpeg names it (mono, stereo, 5.1(side), ...); a bare
        channel count gets ffmpeg's default layout for it; None when unknown."""
        match = _LAYOUT.search(self.detail)
        if match is None:
            return None
        layout = match.group(1)
        count = _COUNT.fullmatch(layout)
        if count is None:
            return layout
        return DEFAULT_LAYOUTS.get(int(count.group(1)))


@dataclass(frozen=True)
class MediaInfo:
    """Container duration (seconds, None if unknown) and streams."""

    duration: float | None
    streams: tuple[StreamInfo, ...]

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)


def _parse_stream(kind: str, codec: str, rest: str) -> StreamInfo:
    if kind == "Video":
        size = _SIZE.search(rest)
        fps = _FPS.search(rest)
        fps_value = None
        if fps:
            text = fps.group(1)
            fps_value = Fraction(text[:-1]) * 1000 if text.endswith("k") else Fraction(text)
        return StreamInfo(
            "video",
            codec,
            width=int(size.group(1)) if size else None,
            height=int(size.group(2)) if size else None,
            fps=fps_value,
            detail=rest.strip(", "),
        )
    rate = _RATE.search(rest)
    return StreamInfo(
        "audio", codec, sample_rate=int(rate.group(1)) if rate else None, detail=rest.strip(", ")
    )


def probe(ffmpeg: str, path: Path) -> MediaInfo:
    """Describe a media file by parsing `ffmpeg -i`'s report."""
    proc = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    report = proc.stderr.decode("utf-8", "replace")
    if "Input #0" not in report:
        raise MediaError(f"ffmpeg cannot read {path}: {stderr_tail(report, 3)}")
    duration = None
    match = _DURATION.search(report)
    if match:
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    streams = tuple(_parse_stream(*m.groups()) for m in _STREAM.finditer(report))
    return MediaInfo(duration, streams)
