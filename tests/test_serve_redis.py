"""Workers on a Redis queue: a separate `lipsync-tool worker` process with no shared folder.

Starts Debian's redis-server on 127.0.0.1 (a free port, no persistence). Skipped without it,
except where LIPSYNC_REQUIRE_REDIS is set (`.ci/run` installs it)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("redis", reason="the [serve] extra is not installed")

import httpx  # noqa: E402

from .local_services import skip_or_fail
from .serve_helpers import (  # noqa: E402
    RedisProcess,
    ServerProcess,
    WorkerProcess,
    audio_job,
    portrait_bytes,
    text_job,
)

pytestmark = pytest.mark.slow


def wait_for(client: httpx.Client, job_id: str, statuses: set[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} stayed {job['status']}")


def test_a_remote_worker_renders_through_redis_and_stops_when_cancelled(
    tmp_path: Path, assets: Path
) -> None:
    missing = "redis-server is not installed (apt-get install redis-server)"
    skip_or_fail(missing if shutil.which("redis-server") is None else None, "LIPSYNC_REQUIRE_REDIS")
    redis_server = RedisProcess(tmp_path)
    server = worker = None
    try:
        server = ServerProcess(tmp_path / "server", "--queue", redis_server.url, workers=0)
        worker = WorkerProcess(redis_server.url, tmp_path / "elsewhere")
        server.wait_ready(workers=1)
        portrait = portrait_bytes(assets / "grace_hopper.jpg")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            job_id = client.post("/v1/jobs", **text_job(portrait)).json()["id"]
            done = wait_for(client, job_id, {"succeeded", "failed"})
            assert done["status"] == "succeeded", done
            video = client.get(f"/v1/jobs/{job_id}/result").content
            assert video[4:8] == b"ftyp" and len(video) == done["result"]["bytes"]
            events = client.get(f"/v1/jobs/{job_id}/events").text
            assert "event: progress" in events

            speech = (assets / "speech.wav").read_bytes()
            long_job = audio_job(portrait, speech, upscale=True, fps=25)
            long_id = client.post("/v1/jobs", **long_job).json()["id"]
            assert wait_for(client, long_id, {"running", "succeeded"})["status"] == "running"
            assert client.post(f"/v1/jobs/{long_id}/cancel").status_code == 202
            assert wait_for(client, long_id, {"cancelled", "succeeded", "failed"})["status"] == (
                "cancelled"
            )
        elsewhere = [p.name for p in (tmp_path / "elsewhere").rglob("*") if p.is_file()]
        assert elsewhere == ["worker.log"], elsewhere  # the worker kept no job files
    finally:
        for process in (worker, server):
            if process is not None:
                process.stop()
        redis_server.stop()
