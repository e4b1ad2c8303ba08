"""Run ffmpeg; stream raw frames into it (which ffmpeg runs: media.locate)."""

from __future__ import annotations

import logging
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Sequence
from typing import IO

import numpy as np

from ..errors import MediaError
from .locate import find_ffmpeg as find_ffmpeg  # the one every caller imports from here

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 12


def stderr_tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last non-empty lines of a tool's stderr, joined for an error message."""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run_ffmpeg(
    ffmpeg: str,
    args: Sequence[str],
    *,
    what: str,
    cancel: threading.Event | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with `args`; on failure raise MediaError naming `what` and ffmpeg's last stderr lines.

    With `cancel`, the run is watched: setting the event ends ffmpeg and raises Cancelled.
    """
    command = [ffmpeg, "-hide_banner", "-nostdin", *args]
    log.debug("running: %s", subprocess.list2cmdline(command))
    try:
        if cancel is None:
            proc = subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, check=False
            )
        else:
            proc = _run_watched(command, cancel)
    except OSError as exc:
        raise MediaError(f"could not start ffmpeg ({ffmpeg}): {exc}") from exc
    if proc.returncode != 0:
        tail = stderr_tail(proc.stderr.decode("utf-8", "replace"))
        raise MediaError(f"ffmpeg failed while {what} (exit {proc.returncode}): {tail}")
    return proc


def _run_watched(command: list[str], cancel: threading.Event) -> subprocess.CompletedProcess[bytes]:
    """Run `command` with its stderr in a temporary file, ending it when `cancel` is set."""
    from .. import children

    with tempfile.TemporaryFile() as stderr:
        process = children.start(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
        code = children.wait(process, cancel)
        stderr.seek(0)
        return subprocess.CompletedProcess(command, code, b"", stderr.read())


class FrameWriter:
    """Feed RGB frames to an ffmpeg process through its stdin.

    Use as a context manager; leaving the block normally waits for ffmpeg and checks its
    exit status, leaving it by an exception kills ffmpeg.
    """

    def __init__(self, command: Sequence[str], frame_size: tuple[int, int]) -> None:
        self.command = list(command)
        self.width, self.height = frame_size
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_lines: deque[str] = deque(maxlen=200)
        self.frames_written = 0

    def __enter__(self) -> FrameWriter:
        log.debug("running: %s", subprocess.list2cmdline(self.command))
        try:
            self._proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise MediaError(f"could not start ffmpeg ({self.command[0]}): {exc}") from exc
        self._start_stderr_reader()
        return self

    def _start_stderr_reader(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        stream: IO[bytes] = self._proc.stderr

        def drain() -> None:
            for raw in stream:
                self._stderr_lines.append(raw.decode("utf-8", "replace").rstrip())

        self._reader = threading.Thread(target=drain, name="ffmpeg-stderr", daemon=True)
        self._reader.start()

    def write(self, frame: np.ndarray) -> None:
        """Write one HxWx3 uint8 RGB frame."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame has shape {frame.shape} {frame.dtype}, expected ({self.height}, {self.width}, 3) uint8"
            )
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError as exc:
            self._proc.wait()
            self._reader.join(timeout=5)
            raise self._failure("encoding video") from exc
        self.frames_written += 1

    def _failure(self, what: str) -> MediaError:
        code = self._proc.returncode if self._proc else None
        tail = stderr_tail("\n".join(self._stderr_lines))
        return MediaError(f"ffmpeg failed while {what} (exit {code}): {tail}")

    def __exit__(self, exc_type, exc, tb) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        if exc_type is not None:
            proc.kill()
            proc.wait()
            self._reader.join(timeout=5)
            return
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.wait()
        self._reader.join(timeout=5)
        if proc.returncode != 0:
            raise self._failure("encoding video")
