"""The real service: `lipsync-tool serve` on 127.0.0.1 with the SQLite queue and worker processes.

Covers what the in-process tests cannot: separate processes, a restart with jobs still queued,
and a worker killed with SIGKILL mid-render."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the [serve] extra is not installed")

import httpx  # noqa: E402

from lipsync_tool.media.probe import probe  # noqa: E402
from lipsync_tool.serve.store import JobStore  # noqa: E402

from .serve_helpers import ServerProcess, audio_job, portrait_bytes, text_job  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture()
def portrait(assets: Path) -> bytes:
    return portrait_bytes(assets / "grace_hopper.jpg")


@pytest.fixture()
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def wait_for(client: httpx.Client, job_id: str, statuses: set[str], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} stayed {job['status']}")


def test_jobs_render_on_worker_processes_and_survive_a_restart(
    tmp_path: Path, portrait: bytes, servers: list[ServerProcess], ffmpeg: str
) -> None:
    data = tmp_path / "data"
    servers.append(ServerProcess(data, workers=0))  # nobody renders: the jobs stay queued
    with httpx.Client(base_url=servers[0].url, timeout=30) as client:
        ids = [
            client.post("/v1/jobs", **text_job(portrait, text=f"Take {n}.")).json()["id"]
            for n in range(3)
        ]
        assert client.get("/v1/health").json()["queued"] == 3
    assert servers[0].stop() == 0

    servers.append(ServerProcess(data, workers=2))
    with httpx.Client(base_url=servers[1].url, timeout=30) as client:
        jobs = [wait_for(client, job_id, {"succeeded", "failed"}) for job_id in ids]
        assert [job["status"] for job in jobs] == ["succeeded"] * 3, jobs
        video = tmp_path / "first.mp4"
        video.write_bytes(client.get(f"/v1/jobs/{ids[0]}/result").content)
        info = probe(ffmpeg, video)
        assert info.video is not None and info.audio is not None
        assert abs(info.duration - jobs[0]["result"]["duration"]) < 0.2
        assert client.get("/v1/health").json() | {"free_disk_mb": 0} == {
            "status": "ok",
            "queued": 0,
            "running": 0,
            "workers": 2,
            "free_disk_mb": 0,
        }


def test_a_worker_killed_mid_render_leaves_its_job_to_run_again(
    tmp_path: Path, portrait: bytes, servers: list[ServerProcess], assets: Path
) -> None:
    data = tmp_path / "data"
    servers.append(ServerProcess(data, workers=1))
    store = JobStore(data / "jobs.db")
    speech = (assets / "speech.wav").read_bytes()
    with httpx.Client(base_url=servers[0].url, timeout=30) as client:
        job = audio_job(portrait, speech, upscale=True, fps=25)
        job_id = client.post("/v1/jobs", **job).json()["id"]
        running = wait_for(client, job_id, {"running", "succeeded", "failed"})
        assert running["status"] == "running"
        worker = store.get(job_id).worker  # type: ignore[union-attr]
        assert worker is not None
        os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)

        assert client.get(f"/v1/jobs/{job_id}/result").status_code == 409
        done = wait_for(client, job_id, {"succeeded", "failed"})
        assert done["status"] == "succeeded" and done["attempts"] == 2, done
        assert store.get(job_id).worker != worker  # type: ignore[union-attr]
        names = sorted(p.name for p in (data / "jobs" / job_id).iterdir())
        assert names == ["audio.wav", "portrait.jpg", "result.mp4"]
        states = [e.data["status"] for e in store.events(job_id) if e.kind == "state"]
        assert states == ["queued", "running", "queued", "running", "succeeded"]


def test_a_short_job_does_not_wait_behind_a_long_one(
    tmp_path: Path, portrait: bytes, servers: list[ServerProcess], assets: Path
) -> None:
    servers.append(ServerProcess(tmp_path / "data", workers=2))
    speech = (assets / "speech.wav").read_bytes()
    with httpx.Client(base_url=servers[0].url, timeout=30) as client:
        long_id = client.post("/v1/jobs", **audio_job(portrait, speech, upscale=True)).json()["id"]
        wait_for(client, long_id, {"running"})
        short_id = client.post("/v1/jobs", **text_job(portrait)).json()["id"]
        short = wait_for(client, short_id, {"succeeded", "failed"})
        long = client.get(f"/v1/jobs/{long_id}").json()
        assert short["status"] == "succeeded"
        assert short["timings"]["queued"] < 1.0, short["timings"]
        assert long["status"] == "running" or long["finished"] > short["finished"], long


def test_neural_jobs_have_workers_of_their_own(
    tmp_path: Path, portrait: bytes, servers: list[ServerProcess], assets: Path
) -> None:
    """With the one warp worker busy, a wav2lip job still starts before that render ends, on the
    GPU lane's worker. (Offline, with no checkpoint, it then fails, saying so.)"""
    env = {**os.environ, "LIPSYNC_OFFLINE": "1", "LIPSYNC_CACHE_DIR": str(tmp_path / "cache")}
    servers.append(ServerProcess(tmp_path / "data", workers=1, gpu_workers=1, env=env))
    store = JobStore(tmp_path / "data" / "jobs.db")
    speech = (assets / "speech.wav").read_bytes()
    with httpx.Client(base_url=servers[0].url, timeout=30) as client:
        warp_id = client.post("/v1/jobs", **audio_job(portrait, speech, upscale=True)).json()["id"]
        wait_for(client, warp_id, {"running"})
        neural = client.post("/v1/jobs", **text_job(portrait, engine="wav2lip"))
        assert neural.status_code == 202, neural.text
        neural_job = wait_for(client, neural.json()["id"], {"failed", "succeeded"})
        assert neural_job["error"]["type"] == "ResourceError", neural_job
        assert "LIPSYNC_OFFLINE" in neural_job["error"]["message"]
        assert wait_for(client, warp_id, {"succeeded", "failed"})["status"] == "succeeded"
        warp, wav2lip = (store.get(j) for j in (warp_id, neural_job["id"]))
        assert warp is not None and wav2lip is not None and warp.finished is not None
        assert wav2lip.started is not None and wav2lip.started < warp.finished
        assert wav2lip.worker != warp.worker
