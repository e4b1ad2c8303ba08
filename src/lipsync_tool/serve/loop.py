"""A daemon thread that repeats one step until stopped: the server's background duties."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Loop:
    """Calls `step()`, waits `every` seconds, again, until `stop()`. A step that raises is
    logged and tried again a second later: a locked table or a restarting Redis passes."""

    def __init__(self, name: str, step: Callable[[], None], every: float) -> None:
        self.name, self.step, self.every = name, step, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("%s failed; trying again", self.name)
                self._stop.wait(1)
                continue
            self._stop.wait(self.every)
