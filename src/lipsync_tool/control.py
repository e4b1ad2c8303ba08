"""What a caller hands a render to follow and steer it: a progress callback, a cancel event, a clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import Cancelled

ProgressCallback = Callable[[str, int, "int | None"], None]
"""progress(stage, done, total): called as work advances; total is None when unknown."""


def no_progress(stage: str, done: int, total: int | None) -> None:
    """A progress callback that does nothing."""


def check_cancelled(cancel: threading.Event | None) -> None:
    """Raise Cancelled when `cancel` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("the render was cancelled; nothing was written")


class StageClock:
    """Wall-clock seconds per named stage of one render."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in self.seconds.items()}


def cancellable(progress: ProgressCallback, cancel: threading.Event | None) -> ProgressCallback:
    """`progress` that first raises Cancelled when `cancel` is set: every report is a cancel point."""
    if cancel is None:
        return progress

    def report(stage: str, done: int, total: int | None) -> None:
        check_cancelled(cancel)
        progress(stage, done, total)

    return report
