"""Child processes (upstream tools) that end with their whole process group: on cancel, Ctrl-C or failure."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import Any

from .control import check_cancelled

POLL_SECONDS = 0.1
GRACE_SECONDS = 5.0


def start(command: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
    """Start `command` (an argument list) as the leader of a new process group."""
    return subprocess.Popen(list(command), start_new_session=os.name == "posix", **popen)


def end_group(process: subprocess.Popen[bytes]) -> None:
    """End `process` and everything it started: SIGTERM to the group, SIGKILL after a grace period."""
    if os.name != "posix":
        process.kill()
        process.wait()
        return
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            if sig == signal.SIGTERM:
                os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group, if any
            break
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            break
    process.wait()


def wait(
    process: subprocess.Popen[bytes],
    cancel: threading.Event | None,
    stop: threading.Event | None = None,
) -> int:
    """Wait for `process`; on cancel (or any exception here) end its whole group first.

    Setting `stop` ends the group too, and returns its exit status (the caller says why).
    """
    try:
        while True:
            try:
                return process.wait(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                check_cancelled(cancel)
                if stop is not None and stop.is_set():
                    end_group(process)
                    return process.wait()
    except BaseException:
        end_group(process)
        raise
