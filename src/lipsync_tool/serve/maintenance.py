"""The server's periodic duties: jobs whose worker died, results past retention, lost enqueues."""

from __future__ import annotations

import logging
import shutil
import time

from .loop import Loop
from .queue import JobQueue
from .settings import ServeSettings
from .store import JobStore

log = logging.getLogger(__name__)

DAY = 86400.0


class Maintenance:
    """One pass with `run_once`; `loop()` repeats it every `maintenance_interval` seconds."""

    def __init__(self, settings: ServeSettings, store: JobStore, queue: JobQueue) -> None:
        self.settings, self.store, self.queue = settings, store, queue

    def loop(self) -> Loop:
        return Loop("maintenance", self.run_once, self.settings.maintenance_interval)

    def run_once(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.recover_dead_workers(now)
        self.enqueue_missing()
        self.expire_results(now)

    def recover_dead_workers(self, now: float) -> None:
        requeued, failed = self.store.requeue_stale(now - self.settings.stale_after)
        for job in requeued:
            log.warning("job %s: its worker stopped mid-render; running it again", job.id)
            self._remove_partials(job.id)
        for job in failed:
            log.warning("job %s: its worker stopped mid-render again; failed", job.id)
            self._remove_partials(job.id)
        self.store.forget_workers(now - DAY)

    def enqueue_missing(self) -> None:
        """Queue the jobs recorded as queued but never handed to the queue."""
        for job in self.store.unenqueued():
            self.queue.enqueue(job)
            self.store.mark_enqueued(job.id)

    def expire_results(self, now: float) -> None:
        for job in self.store.expire(now - self.settings.retention_days * DAY):
            shutil.rmtree(self.settings.jobs_dir / job.id, ignore_errors=True)
            log.info("job %s expired; its files are deleted", job.id)

    def _remove_partials(self, job_id: str) -> None:
        for partial in (self.settings.jobs_dir / job_id).glob(".*.partial*"):
            partial.unlink(missing_ok=True)
