"""Which ffmpeg runs, and whether it can: $LIPSYNC_FFMPEG, else the bundled binary, else PATH's."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, MediaError

FFMPEG_ENV = "LIPSYNC_FFMPEG"
MINIMUM_VERSION = (4, 1)
"""The oldest ffmpeg release the audio and media tests pass on; older ones are refused."""

_RELEASE = re.compile(r"ffmpeg version n?(\d+)\.(\d+)")
_USE_BUNDLED = f"unset {FFMPEG_ENV} to use the bundled ffmpeg"


@dataclass(frozen=True)
class FfmpegBuild:
    """What one ffmpeg executable is: its release (None for a git snapshot) and its encoders."""

    path: str
    version_line: str
    version: tuple[int, int] | None
    encoders: frozenset[str]


def find_ffmpeg() -> str:
    """The ffmpeg to run: $LIPSYNC_FFMPEG (a path or a name on PATH), else imageio-ffmpeg's, else PATH's.

    The bundled binary comes first so that every machine runs the release the tool is tested
    with; a chosen one is checked against MINIMUM_VERSION.
    """
    chosen = os.environ.get(FFMPEG_ENV, "").strip()
    if chosen:
        path = shutil.which(chosen)
        if path is None:
            raise InputError(
                f"{FFMPEG_ENV}={chosen} is not an executable ffmpeg: "
                f"point it at one, or {_USE_BUNDLED}"
            )
        _check_release(describe(path), f"point {FFMPEG_ENV} at a newer one, or {_USE_BUNDLED}")
        return path
    bundled = _bundled_ffmpeg()
    if bundled is not None:
        return bundled
    on_path = shutil.which("ffmpeg")
    if on_path is None:
        raise MediaError(
            "ffmpeg not found: imageio-ffmpeg has no binary for this platform and none is on PATH; "
            f"install ffmpeg, or set {FFMPEG_ENV}=/path/to/ffmpeg"
        )
    _check_release(describe(on_path), f"install a newer one, or set {FFMPEG_ENV}=/path/to/ffmpeg")
    return on_path


def _bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - a core dependency
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        return None


def describe(ffmpeg: str) -> FfmpegBuild:
    """Ask `ffmpeg` for its version and encoders (once per executable and modification time)."""
    stat = Path(ffmpeg).stat()
    return _describe(ffmpeg, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _describe(ffmpeg: str, _mtime_ns: int, _size: int) -> FfmpegBuild:
    version_text = _ask(ffmpeg, "-version")
    first = version_text.splitlines()[0].strip() if version_text.strip() else ""
    if not first.startswith("ffmpeg version"):
        raise InputError(
            f"{ffmpeg} does not answer `-version` as ffmpeg does ({first[:80] or 'no output'}): "
            f"point {FFMPEG_ENV} at an ffmpeg, or {_USE_BUNDLED}"
        )
    return FfmpegBuild(
        path=ffmpeg,
        version_line=first,
        version=parse_release(first),
        encoders=parse_encoders(_ask(ffmpeg, "-hide_banner", "-encoders")),
    )


def _ask(ffmpeg: str, *args: str) -> str:
    try:
        proc = subprocess.run(
            [ffmpeg, *args], stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(
            f"{ffmpeg} does not run ({exc}): point {FFMPEG_ENV} at a working ffmpeg, or {_USE_BUNDLED}"
        ) from exc
    return proc.stdout.decode("utf-8", "replace")


def parse_release(version_line: str) -> tuple[int, int] | None:
    """(major, minor) from ffmpeg's first `-version` line; None for a snapshot such as N-113245-g…."""
    match = _RELEASE.match(version_line)
    if match is None or int(match.group(1)) >= 1000:  # dated nightly builds: 2024-01-01-git-…
        return None
    return int(match.group(1)), int(match.group(2))


def parse_encoders(listing: str) -> frozenset[str]:
    """Encoder names from `ffmpeg -encoders` (lines such as ` V....D libx264  libx264 H.264 …`)."""
    names = set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 2 and len(fields[0]) == 6 and fields[0][0] in "VAS" and fields[1] != "=":
            names.add(fields[1])
    return frozenset(names)


def _check_release(build: FfmpegBuild, fix: str) -> None:
    if build.version is not None and build.version < MINIMUM_VERSION:
        need = ".".join(map(str, MINIMUM_VERSION))
        have = ".".join(map(str, build.version))
        raise InputError(
            f"{build.path} is ffmpeg {have}; lipsync-tool needs ffmpeg {need} or newer: {fix}"
        )


def require_encoders(ffmpeg: str, encoders: tuple[str, ...], what: str) -> None:
    """Raise InputError naming the first of `encoders` that this ffmpeg lacks (needed for `what`)."""
    build = describe(ffmpeg)
    missing = [name for name in encoders if name not in build.encoders]
    if missing:
        raise InputError(
            f"{ffmpeg} has no {' or '.join(missing)} encoder, which {what} needs: "
            f"choose another output format, or point {FFMPEG_ENV} at an ffmpeg built with it "
            f"(the bundled one is), or {_USE_BUNDLED}"
        )
