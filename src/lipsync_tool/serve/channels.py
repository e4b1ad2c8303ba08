"""How a worker talks to the server: claims, heartbeats, progress and outcomes.

`LocalChannel` is for workers on the server's machine (the SQLite queue): they write the job
table and the job folders directly. `RedisChannel` is for workers anywhere (`--queue redis://`):
the job's inputs travel in the queue's ticket, every report goes on a Redis list that the server
applies to its table (`redis_reports`), and the video goes back through Redis. Either way the
job table stays the one source of truth, and only the server writes its folders there.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .jobspec import RESULT_NAME
from .store import JobStore

PREFIX = "lipsync:"
REPORTS = PREFIX + "reports"
KEEP_SECONDS = 86400
"""How long claims, cancel marks and results in transit stay in Redis."""


def claim_key(job_id: str, attempt: int) -> str:
    return f"{PREFIX}claim:{job_id}:{attempt}"


def cancel_key(job_id: str) -> str:
    return f"{PREFIX}cancel:{job_id}"


def result_key(job_id: str) -> str:
    return f"{PREFIX}result:{job_id}"


@dataclass(frozen=True)
class Claim:
    """A job a worker has claimed: what to render and the folder its files are in."""

    id: str
    engine: str
    options: dict[str, Any]
    inputs: dict[str, Any]
    folder: Path


class Channel(Protocol):
    def claim(self, ticket: dict[str, Any], worker: str) -> Claim | None: ...
    def beat(self, job_id: str, worker: str) -> bool: ...
    def seen(self, worker: str, host: str, pid: int) -> None: ...
    def progress(
        self, job_id: str, worker: str, stage: str, done: int, total: int | None, eta: float | None
    ) -> None: ...
    def finish(
        self,
        claim: Claim,
        worker: str,
        status: str,
        result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None,
    ) -> None: ...


class LocalChannel:
    """A worker on the server's machine: the job table and folders directly."""

    def __init__(self, store: JobStore, jobs_dir: Path) -> None:
        self.store, self.jobs_dir = store, jobs_dir

    def claim(self, ticket: dict[str, Any], worker: str) -> Claim | None:
        job = self.store.claim(ticket["id"], worker)
        if job is None:
            return None
        return Claim(job.id, job.engine, job.options, job.inputs, self.jobs_dir / job.id)

    def beat(self, job_id: str, worker: str) -> bool:
        return self.store.beat(job_id, worker)

    def seen(self, worker: str, host: str, pid: int) -> None:
        self.store.worker_seen(worker, host, pid)

    def progress(
        self, job_id: str, worker: str, stage: str, done: int, total: int | None, eta: float | None
    ) -> None:
        self.store.progress(job_id, worker, stage, done, total, eta)

    def finish(
        self,
        claim: Claim,
        worker: str,
        status: str,
        result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        self.store.finish(claim.id, worker, status, result=result, error=error)


class RedisChannel:
    """A worker anywhere: inputs from the ticket, reports and the video through Redis."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)

    def claim(self, ticket: dict[str, Any], worker: str) -> Claim | None:
        job_id = ticket["id"]
        if not self.redis.set(
            claim_key(job_id, ticket["attempt"]), worker, nx=True, ex=KEEP_SECONDS
        ):
            return None  # another worker has this attempt
        if self.redis.exists(cancel_key(job_id)):
            return None
        folder = Path(tempfile.mkdtemp(prefix=f"lipsync-job-{job_id[:8]}-"))
        for name, data in ticket["files"].items():
            (folder / Path(name).name).write_bytes(data)
        self._report("claimed", job_id, worker)
        return Claim(job_id, ticket["engine"], ticket["options"], ticket["inputs"], folder)

    def beat(self, job_id: str, worker: str) -> bool:
        self._report("beat", job_id, worker)
        return bool(self.redis.exists(cancel_key(job_id)))

    def seen(self, worker: str, host: str, pid: int) -> None:
        self._report("seen", None, worker, host=host, pid=pid)

    def progress(
        self, job_id: str, worker: str, stage: str, done: int, total: int | None, eta: float | None
    ) -> None:
        self._report("progress", job_id, worker, stage=stage, done=done, total=total, eta=eta)

    def finish(
        self,
        claim: Claim,
        worker: str,
        status: str,
        result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        try:
            if status == "succeeded":
                video = (claim.folder / RESULT_NAME).read_bytes()
                self.redis.set(result_key(claim.id), video, ex=KEEP_SECONDS)
            self._report("finished", claim.id, worker, status=status, result=result, error=error)
        finally:
            shutil.rmtree(claim.folder, ignore_errors=True)

    def _report(self, kind: str, job_id: str | None, worker: str, **data: Any) -> None:
        message = {"kind": kind, "job": job_id, "worker": worker, **data}
        self.redis.rpush(REPORTS, json.dumps(message))
