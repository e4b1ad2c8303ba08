"""Progress for the CLI: a bar per stage on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

log = logging.getLogger("lipsync_tool.progress")

STAGE_LABELS = {"render": "rendering frames", "speech": "recognising phones", "batch": "rows"}
STAGE_UNITS = {"render": "frame", "speech": "piece", "batch": "row"}


class ProgressReporter:
    """A progress callback: `reporter(stage, done, total)`; call `close()` at the end."""

    def __init__(
        self, stream: TextIO | None = None, interactive: bool | None = None, enabled: bool = True
    ) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.enabled = enabled
        self._bars: dict[str, Any] = {}
        self._logged_step: dict[str, int] = {}
        self._first: dict[str, tuple[float, int]] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self.interactive:
            self._bar(stage, done, total)
        else:
            self._log(stage, done, total)

    def _bar(self, stage: str, done: int, total: int | None) -> None:
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            bar = tqdm(
                total=total,
                desc=STAGE_LABELS.get(stage, stage),
                unit=STAGE_UNITS.get(stage, "step"),
                file=self.stream,
                leave=False,
            )
            self._bars[stage] = bar
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    def _log(self, stage: str, done: int, total: int | None) -> None:
        if not total:
            return
        now = time.monotonic()
        first_time, first_done = self._first.setdefault(stage, (now, done))
        step = done * 10 // total
        if step > self._logged_step.get(stage, 0) or done == total:
            if self._logged_step.get(stage) == 10:
                return
            self._logged_step[stage] = step
            label = STAGE_LABELS.get(stage, stage)
            if done > first_done:
                eta = (now - first_time) / (done - first_done) * (total - done)
                log.info(
                    "%s: %d/%d (%d%%), about %s left",
                    label,
                    done,
                    total,
                    done * 100 // total,
                    duration_text(eta),
                )
            else:
                log.info("%s: %d/%d (%d%%)", label, done, total, done * 100 // total)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


def duration_text(seconds: float) -> str:
    """`seconds` as 1:05:03, 4:07 or 12 s."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
