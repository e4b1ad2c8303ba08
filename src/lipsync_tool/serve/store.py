"""The job table: the one source of truth for job state, in SQLite (WAL mode).

The web process and the workers of this machine open the same file. Every change of state is a
single conditional UPDATE, so a job is claimed by one worker and a cancelled job never runs.
Each change also appends an event (the SSE stream's source, resumable by its sequence number).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .jobs import FINAL, MAX_ATTEMPTS, SCHEMA, STATUSES, DuplicateKey, Event, Job, new_job_id


class JobStore:
    """The job, event and worker tables in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: callers are threads and processes, and opening one is cheap.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def create(
        self,
        owner: str,
        engine: str,
        options: dict[str, Any],
        inputs: dict[str, Any],
        *,
        job_id: str | None = None,
        idempotency_key: str | None = None,
        body_hash: str | None = None,
    ) -> Job:
        """Insert a queued job; DuplicateKey if the owner used `idempotency_key` before."""
        job_id = job_id or new_job_id()
        now = time.time()
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO jobs (id, owner, status, engine, options, inputs, "
                    "idempotency_key, body_hash, created) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                    (
                        job_id,
                        owner,
                        engine,
                        json.dumps(options),
                        json.dumps(inputs),
                        idempotency_key,
                        body_hash,
                        now,
                    ),
                )
                self._event(db, job_id, "state", {"status": "queued"})
        except sqlite3.IntegrityError as exc:
            if idempotency_key is not None and "idempotency_key" in str(exc):
                raise DuplicateKey(idempotency_key) from exc
            raise
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or None (also when it belongs to another owner)."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return Job.from_row(row)

    def by_key(self, owner: str, idempotency_key: str) -> Job | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE owner = ? AND idempotency_key = ?",
                (owner, idempotency_key),
            ).fetchone()
        return Job.from_row(row) if row else None

    def page(
        self, owner: str, *, status: str | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[list[Job], int]:
        """The owner's jobs, newest first, and how many there are in all."""
        where, args = "owner = ?", [owner]
        if status is not None:
            where += " AND status = ?"
            args.append(status)
        with self._connect() as db:
            total = db.execute(f"SELECT COUNT(*) FROM jobs WHERE {where}", args).fetchone()[0]
            rows = db.execute(
                f"SELECT * FROM jobs WHERE {where} ORDER BY created DESC, id LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [Job.from_row(row) for row in rows], total

    def count_active(self, owner: str | None = None) -> int:
        """Queued and running jobs (of `owner`, or of everyone)."""
        query = "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')"
        args: list[Any] = []
        if owner is not None:
            query += " AND owner = ?"
            args.append(owner)
        with self._connect() as db:
            return int(db.execute(query, args).fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        with self._connect() as db:
            rows = db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {status: 0 for status in STATUSES} | {row[0]: row[1] for row in rows}

    def mark_enqueued(self, job_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET enqueued = 1 WHERE id = ?", (job_id,))

    def unenqueued(self) -> list[Job]:
        """Queued jobs that never reached the queue (the server stopped between the two)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE status = 'queued' AND enqueued = 0 ORDER BY created"
            ).fetchall()
        return [Job.from_row(row) for row in rows]

    def claim(self, job_id: str, worker: str) -> Job | None:
        """queued → running for `worker`; None when the job is gone, cancelled or taken."""
        now = time.time()
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE jobs SET status = 'running', worker = ?, started = ?, heartbeat = ?, "
                "attempts = attempts + 1, stage = NULL, done = NULL, total = NULL, eta = NULL "
                "WHERE id = ? AND status = 'queued'",
                (worker, now, now, job_id),
            ).rowcount
            if not updated:
                return None
            attempt = db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
            self._event(db, job_id, "state", {"status": "running", "attempt": attempt})
        return self.get(job_id)

    def beat(self, job_id: str, worker: str) -> bool:
        """Record that `worker` still renders the job; True when a cancel was asked for."""
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET heartbeat = ? WHERE id = ? AND worker = ? AND status = 'running'",
                (time.time(), job_id, worker),
            )
            row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def progress(
        self, job_id: str, worker: str, stage: str, done: int, total: int | None, eta: float | None
    ) -> None:
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE jobs SET stage = ?, done = ?, total = ?, eta = ?, heartbeat = ? "
                "WHERE id = ? AND worker = ? AND status = 'running'",
                (stage, done, total, eta, time.time(), job_id, worker),
            ).rowcount
            if updated:
                data = {"stage": stage, "done": done, "total": total, "eta": eta}
                self._event(db, job_id, "progress", data)

    def finish(
        self,
        job_id: str,
        worker: str | None,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None,
    ) -> bool:
        """running (by `worker`) or queued → a final status; False when the job was not there."""
        assert status in FINAL
        error_type, message = error or (None, None)
        with self._transaction() as db:
            if worker is None:
                condition, args = "status IN ('queued', 'running')", []
            else:
                condition, args = "status = 'running' AND worker = ?", [worker]
            updated = db.execute(
                "UPDATE jobs SET status = ?, finished = ?, result = ?, error_type = ?, "
                f"error_message = ?, eta = NULL WHERE id = ? AND {condition}",
                [
                    status,
                    time.time(),
                    json.dumps(result) if result is not None else None,
                    error_type,
                    message,
                    job_id,
                    *args,
                ],
            ).rowcount
            if updated:
                data: dict[str, Any] = {"status": status}
                if error is not None:
                    data["error"] = {"type": error_type, "message": message}
                self._event(db, job_id, "state", data)
        return bool(updated)

    def request_cancel(self, job_id: str) -> str | None:
        """Cancel a queued job at once, ask a running one's worker to stop; the status after."""
        with self._transaction() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            if row[0] == "queued":
                db.execute(
                    "UPDATE jobs SET status = 'cancelled', finished = ?, cancel_requested = 1 "
                    "WHERE id = ?",
                    (time.time(), job_id),
                )
                self._event(db, job_id, "state", {"status": "cancelled"})
                return "cancelled"
            if row[0] == "running":
                db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            return str(row[0])

    def requeue_stale(self, older_than: float) -> tuple[list[Job], list[Job]]:
        """Running jobs whose worker has been silent since `older_than`: those sent back to the
        queue (first death) and those failed (second death)."""
        requeued, failed = [], []
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE status = 'running' AND heartbeat < ?", (older_than,)
            ).fetchall()
            for row in rows:
                job = Job.from_row(row)
                if job.attempts < MAX_ATTEMPTS and not job.cancel_requested:
                    db.execute(
                        "UPDATE jobs SET status = 'queued', worker = NULL, enqueued = 0, "
                        "stage = NULL, done = NULL, total = NULL, eta = NULL WHERE id = ?",
                        (job.id,),
                    )
                    self._event(db, job.id, "state", {"status": "queued", "retry": True})
                    requeued.append(job)
                else:
                    status = "cancelled" if job.cancel_requested else "failed"
                    message = (
                        "the worker rendering this job stopped (killed, or out of memory) "
                        f"{job.attempts} times; try a shorter recording or a smaller portrait"
                    )
                    error = None if status == "cancelled" else ("WorkerLost", message)
                    db.execute(
                        "UPDATE jobs SET status = ?, finished = ?, error_type = ?, "
                        "error_message = ?, eta = NULL WHERE id = ?",
                        (status, time.time(), *(error or (None, None)), job.id),
                    )
                    data: dict[str, Any] = {"status": status}
                    if error:
                        data["error"] = {"type": error[0], "message": error[1]}
                    self._event(db, job.id, "state", data)
                    failed.append(job)
        return requeued, failed

    def expire(self, older_than: float) -> list[Job]:
        """Finished jobs that ended before `older_than` become `expired`; returns them."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') "
                "AND finished < ?",
                (older_than,),
            ).fetchall()
            for row in rows:
                db.execute("UPDATE jobs SET status = 'expired' WHERE id = ?", (row["id"],))
                self._event(db, row["id"], "state", {"status": "expired"})
        return [Job.from_row(row) for row in rows]

    def delete(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def events(self, job_id: str, after: int = 0) -> list[Event]:
        """The job's events with a sequence number above `after`, in order."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT seq, kind, data FROM events WHERE job_id = ? AND seq > ? ORDER BY seq",
                (job_id, after),
            ).fetchall()
        return [Event(row[0], row[1], json.loads(row[2])) for row in rows]

    def worker_seen(self, worker: str, host: str, pid: int) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO workers (id, host, pid, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
                (worker, host, pid, time.time()),
            )

    def live_workers(self, since: float) -> int:
        with self._connect() as db:
            return int(
                db.execute(
                    "SELECT COUNT(*) FROM workers WHERE last_seen >= ?", (since,)
                ).fetchone()[0]
            )

    def forget_workers(self, before: float) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM workers WHERE last_seen < ?", (before,))

    @staticmethod
    def _event(db: sqlite3.Connection, job_id: str, kind: str, data: dict[str, Any]) -> None:
        seq = db.execute("UPDATE jobs SET seq = seq + 1 WHERE id = ? RETURNING seq", (job_id,))
        number = seq.fetchone()[0]
        db.execute(
            "INSERT INTO events (job_id, seq, kind, data) VALUES (?, ?, ?, ?)",
            (job_id, number, kind, json.dumps(data)),
        )
