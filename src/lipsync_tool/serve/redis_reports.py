"""The server's side of Redis workers: apply their reports to the job table, store their videos."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .channels import REPORTS, cancel_key, result_key
from .jobspec import RESULT_NAME
from .loop import Loop
from .store import JobStore

log = logging.getLogger(__name__)


class ReportPump:
    """Applies the workers' reports as they arrive; `loop()` runs it in a daemon thread."""

    def __init__(self, url: str, store: JobStore, jobs_dir: Path) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.store, self.jobs_dir = store, jobs_dir

    def loop(self) -> Loop:
        return Loop("redis reports", self.apply_next, 0)

    def apply_next(self) -> None:
        """Wait up to a second for a report and apply it."""
        popped = self.redis.blpop([REPORTS], timeout=1)
        if popped is not None:
            self.apply(json.loads(popped[1]))

    def apply(self, report: dict[str, Any]) -> None:
        kind, job_id, worker = report["kind"], report["job"], report["worker"]
        if kind == "seen":
            self.store.worker_seen(worker, report["host"], report["pid"])
        elif kind == "claimed":
            if self.store.claim(job_id, worker) is None:  # cancelled or deleted meanwhile
                self.redis.set(cancel_key(job_id), 1, ex=86400)
        elif kind == "beat":
            if self.store.beat(job_id, worker):
                self.redis.set(cancel_key(job_id), 1, ex=86400)
        elif kind == "progress":
            self.store.progress(
                job_id, worker, report["stage"], report["done"], report["total"], report["eta"]
            )
        elif kind == "finished":
            self._finished(report)

    def _finished(self, report: dict[str, Any]) -> None:
        job_id, worker, status = report["job"], report["worker"], report["status"]
        if status == "succeeded":
            video = self.redis.getdel(result_key(job_id))
            folder = self.jobs_dir / job_id
            if video is None or not folder.is_dir():
                log.warning("job %s: its video did not arrive or the job is gone", job_id)
                return
            partial = folder / f".{RESULT_NAME}.partial"
            partial.write_bytes(video)
            os.replace(partial, folder / RESULT_NAME)
        error = (report["error"][0], report["error"][1]) if report.get("error") else None
        self.store.finish(job_id, worker, status, result=report.get("result"), error=error)
