"""Running upstream's inference.py: its output streamed into our log, tqdm bars turned into progress, failures named."""

from __future__ import annotations

import logging
import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ... import children
from ...control import ProgressCallback
from ...errors import Cancelled, EngineError, ResourceError

log = logging.getLogger(__name__)

TAIL_LINES = 20
TQDM = re.compile(r"^(?P<desc>[^|]*?):?\s*(?P<pct>\d+)%\|.*?\|\s*(?P<done>\d+)/(?P<total>\d+)")
NO_FACE = (
    "Can't get the coeffs of the input",
    "can not detect the landmark from source image",
    "No face is detected",
    "exceptions must derive from BaseException",
)
OOM = ("CUDA out of memory", "OutOfMemoryError", "CUBLAS_STATUS_ALLOC_FAILED")
DISK_FULL = ("No space left on device", "[Errno 28]")


@dataclass
class RunOutput:
    """What the run printed: stdout lines, and the last stderr lines that are not progress bars."""

    returncode: int
    stdout: list[str] = field(default_factory=list)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    progress_error: BaseException | None = None
    """What the caller's progress callback raised (the run was then ended); re-raised to the caller."""
    stopped: threading.Event = field(default_factory=threading.Event)

    def tail_text(self) -> str:
        return " | ".join(self.stderr_tail) or f"exit status {self.returncode}, nothing on stderr"


def run_inference(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    progress: ProgressCallback,
    cancel: threading.Event | None = None,
) -> RunOutput:
    """Run `command`, streaming both pipes at DEBUG; stderr's tqdm bars drive progress (see progress_stage).

    The child leads its own process group, which ends as a whole on cancel, Ctrl-C or any failure here.
    """
    log.info("running SadTalker: %s", subprocess.list2cmdline(list(command)))
    process = children.start(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    output = RunOutput(returncode=-1)
    assert process.stdout is not None and process.stderr is not None
    readers = [
        threading.Thread(
            target=_pump, args=(process.stdout, output.stdout.append, "stdout"), daemon=True
        ),
        threading.Thread(
            target=_pump,
            args=(process.stderr, lambda line: _on_stderr(line, output, progress), "stderr"),
            daemon=True,
        ),
    ]
    for reader in readers:
        reader.start()
    output.returncode = children.wait(process, cancel, output.stopped)
    for reader in readers:
        reader.join()
    if output.progress_error is not None:
        raise output.progress_error
    return output


def _pump(stream: IO[bytes], handle: Callable[[str], None], name: str) -> None:
    """Split a pipe on newlines and carriage returns (tqdm redraws with \\r) and hand each piece on."""
    pending = b""
    while chunk := stream.read1(65536):  # type: ignore[attr-defined]
        pending += chunk
        *pieces, pending = re.split(rb"[\r\n]", pending)
        for piece in pieces:
            _emit(piece, handle, name)
    _emit(pending, handle, name)
    stream.close()


def _emit(piece: bytes, handle: Callable[[str], None], name: str) -> None:
    text = piece.decode("utf-8", errors="replace").rstrip()
    if text.strip():
        log.debug("sadtalker %s: %s", name, text)
        handle(text)


def _on_stderr(line: str, output: RunOutput, progress: ProgressCallback) -> None:
    match = TQDM.match(line.strip())
    if match:
        if output.stopped.is_set():
            return  # the callback failed before: keep draining the pipe, report nothing
        try:
            progress(progress_stage(match["desc"]), int(match["done"]), int(match["total"]))
        except Cancelled:
            pass  # run_inference's wait sees the event and ends the process group
        except BaseException as exc:  # runs in the reader thread: hand it to the waiting caller
            output.progress_error = exc
            output.stopped.set()
        return
    output.stderr_tail.append(line.strip())


def progress_stage(description: str) -> str:
    """Our stage for one of upstream's tqdm bars: its face renderer is `render` (frames), each other bar its own."""
    name = description.strip().rstrip(":").strip()
    return "render" if name.lower().startswith("face render") else f"sadtalker {name}"


def failure(output: RunOutput, what: str, work_dir: Path, checkout: Path) -> Exception:
    """The one-line error a failed or fruitless run deserves, by what upstream printed."""
    text = "\n".join([*output.stdout[-TAIL_LINES:], *output.stderr_tail])
    tail = output.tail_text()
    if any(sign in text for sign in DISK_FULL):
        return ResourceError(
            f"disk full while SadTalker was rendering: it writes its frames and clips to {work_dir} "
            f"and temporary files to {checkout}; a one-minute clip needs about 1 GB free in each "
            f"(free some space, or set TMPDIR / --cache-dir elsewhere); SadTalker said: {tail}"
        )
    if any(sign in text for sign in OOM):
        return EngineError(
            f"SadTalker ran out of GPU memory; try --resolution 256 and/or --sadtalker-batch-size 1 "
            f"(it said: {tail})"
        )
    said = [line.strip() for line in text.splitlines() if any(sign in line for sign in NO_FACE)]
    if said:
        return EngineError(
            "SadTalker found no face it can animate in the portrait (its own detector needs a clear, "
            f"frontal, well-lit face; try another photo); it said: {said[-1]}"
        )
    if output.returncode != 0:
        return EngineError(
            f"SadTalker failed (exit status {output.returncode}) {what}; its last stderr lines: {tail}"
        )
    return EngineError(
        f"SadTalker exited without producing a video {what}; its last stderr lines: {tail}"
    )
