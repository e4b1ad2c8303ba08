"""What a job is: its statuses, its row in the job table, its events, its id."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "expired")
FINAL = ("succeeded", "failed", "cancelled", "expired")
MAX_ATTEMPTS = 2
"""A job whose worker dies mid-render runs once more; a second death fails it."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    engine TEXT NOT NULL,
    options TEXT NOT NULL,
    inputs TEXT NOT NULL,
    idempotency_key TEXT,
    body_hash TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    heartbeat REAL,
    stage TEXT,
    done INTEGER,
    total INTEGER,
    eta REAL,
    error_type TEXT,
    error_message TEXT,
    result TEXT,
    seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner, idempotency_key)
);
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    last_seen REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Job:
    """One row of the job table."""

    id: str
    owner: str
    status: str
    engine: str
    options: dict[str, Any]
    """RenderRequest fields the client chose (the engine's own under `options`)."""
    inputs: dict[str, Any]
    """What was uploaded: file names inside the job's folder, or the text to speak."""
    created: float
    started: float | None
    finished: float | None
    attempts: int
    enqueued: bool
    cancel_requested: bool
    worker: str | None
    """The worker that claimed it last: `host:pid`."""
    heartbeat: float | None
    stage: str | None
    done: int | None
    total: int | None
    eta: float | None
    error_type: str | None
    error_message: str | None
    result: dict[str, Any] | None
    idempotency_key: str | None
    body_hash: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            id=row["id"],
            owner=row["owner"],
            status=row["status"],
            engine=row["engine"],
            options=json.loads(row["options"]),
            inputs=json.loads(row["inputs"]),
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            attempts=row["attempts"],
            enqueued=bool(row["enqueued"]),
            cancel_requested=bool(row["cancel_requested"]),
            worker=row["worker"],
            heartbeat=row["heartbeat"],
            stage=row["stage"],
            done=row["done"],
            total=row["total"],
            eta=row["eta"],
            error_type=row["error_type"],
            error_message=row["error_message"],
            result=json.loads(row["result"]) if row["result"] else None,
            idempotency_key=row["idempotency_key"],
            body_hash=row["body_hash"],
        )


@dataclass(frozen=True)
class Event:
    """One entry of a job's event stream."""

    seq: int
    kind: str
    """`state` (status changed) or `progress`."""
    data: dict[str, Any]


class DuplicateKey(Exception):
    """A job with this owner's Idempotency-Key exists already."""


def new_job_id() -> str:
    """A random job id that is safe in a path and a URL."""
    return uuid.uuid4().hex
