"""JSON views of jobs, as the API answers them."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from .jobs import Job


def timestamp(seconds: float | None) -> str | None:
    """ISO 8601 in UTC, to the millisecond."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_view(job: Job) -> dict[str, Any]:
    """A job as `GET /v1/jobs/{id}` answers it."""
    base = f"/v1/jobs/{job.id}"
    progress = None
    estimate = job.inputs.get("estimate_seconds")
    if job.stage is not None and job.status == "running":
        progress = {"stage": job.stage, "done": job.done, "total": job.total, "eta": job.eta}
    elif job.status == "running" and job.started is not None and estimate is not None:
        left = max(0.0, estimate - (time.time() - job.started))
        progress = {"stage": "preparing", "done": 0, "total": None, "eta": round(left, 1)}
    error = None
    if job.error_type is not None:
        error = {"type": job.error_type, "message": job.error_message}
    result = None
    links = {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"}
    if job.status == "succeeded" and job.result is not None:
        result = {k: v for k, v in job.result.items() if k not in ("stage_seconds", "output")}
        links["result"] = f"{base}/result"
    return {
        "id": job.id,
        "status": job.status,
        "engine": job.engine,
        "options": job.options,
        "text": job.inputs.get("text"),
        "estimate_seconds": estimate,
        "created": timestamp(job.created),
        "started": timestamp(job.started),
        "finished": timestamp(job.finished),
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "progress": progress,
        "error": error,
        "result": result,
        "timings": timings(job),
        "links": links,
    }


def timings(job: Job) -> dict[str, Any]:
    """Seconds queued and running, and the render's own stages once it succeeded."""
    queued = (job.started - job.created) if job.started is not None else None
    running = None
    if job.started is not None and job.finished is not None:
        running = job.finished - job.started
    stages = (job.result or {}).get("stage_seconds") or {}
    return {
        "queued": round(queued, 3) if queued is not None else None,
        "running": round(running, 3) if running is not None else None,
        "stages": stages,
    }
