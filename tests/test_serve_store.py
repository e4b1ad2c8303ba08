"""The job table and the server's maintenance: claims, dead workers, retention, lost enqueues."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("huey", reason="the [serve] extra is not installed")

from lipsync_tool.serve.maintenance import DAY, Maintenance  # noqa: E402
from lipsync_tool.serve.queue import JobQueue  # noqa: E402
from lipsync_tool.serve.store import JobStore  # noqa: E402

from .local_services import run_concurrently  # noqa: E402
from .serve_helpers import settings_for  # noqa: E402


@pytest.fixture()
def parts(tmp_path: Path) -> tuple[JobStore, Maintenance, JobQueue]:
    settings = settings_for(tmp_path / "data", stale_after=5.0, retention_days=1.0)
    store, queue = JobStore(settings.jobs_db), JobQueue(settings)
    return store, Maintenance(settings, store, queue), queue


def new_job(store: JobStore) -> str:
    return store.create("me", "warp", {}, {"portrait": "portrait.jpg", "text": "Hi"}).id


def test_a_job_is_claimed_by_one_worker_only(parts: tuple[JobStore, Maintenance, JobQueue]) -> None:
    store = parts[0]
    job_id = new_job(store)
    claims = run_concurrently(lambda: store.claim(job_id, "w"), 8)
    assert sum(1 for claim in claims if claim is not None) == 1
    assert store.get(job_id).status == "running"  # type: ignore[union-attr]


def test_a_dead_workers_job_runs_once_more_then_fails(
    parts: tuple[JobStore, Maintenance, JobQueue],
) -> None:
    store, maintenance, queue = parts
    settings = maintenance.settings
    job_id = new_job(store)
    store.mark_enqueued(job_id)
    store.claim(job_id, "w1")
    partial = settings.jobs_dir / job_id / ".result.abc.partial.mp4"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a video")
    started = store.get(job_id).heartbeat  # type: ignore[union-attr]
    assert started is not None

    maintenance.run_once(now=started + 1)  # the worker is merely quiet
    assert store.get(job_id).status == "running"  # type: ignore[union-attr]

    maintenance.run_once(now=started + 10)
    job = store.get(job_id)
    assert job is not None and job.status == "queued" and job.attempts == 1
    assert job.enqueued and queue.depth() == 1
    assert not partial.exists()

    store.claim(job_id, "w2")
    restarted = store.get(job_id).heartbeat  # type: ignore[union-attr]
    maintenance.run_once(now=restarted + 10)  # type: ignore[operator]
    job = store.get(job_id)
    assert job is not None and job.status == "failed" and job.attempts == 2
    assert job.error_type == "WorkerLost" and "stopped" in (job.error_message or "")
    states = [e.data["status"] for e in store.events(job_id) if e.kind == "state"]
    assert states == ["queued", "running", "queued", "running", "failed"]


def test_a_late_report_from_a_presumed_dead_worker_changes_nothing(
    parts: tuple[JobStore, Maintenance, JobQueue],
) -> None:
    store, maintenance, _ = parts
    job_id = new_job(store)
    store.claim(job_id, "w1")
    maintenance.run_once(now=store.get(job_id).heartbeat + 10)  # type: ignore[operator]
    store.claim(job_id, "w2")
    assert not store.finish(job_id, "w1", "succeeded", result={"frames": 1})
    store.progress(job_id, "w1", "render", 5, 10, 1.0)
    job = store.get(job_id)
    assert job is not None and job.status == "running" and job.stage is None


def test_finished_jobs_expire_after_the_retention_and_lose_their_files(
    parts: tuple[JobStore, Maintenance, JobQueue],
) -> None:
    store, maintenance, _ = parts
    old, fresh, running = new_job(store), new_job(store), new_job(store)
    for job_id in (old, fresh):
        store.claim(job_id, "w")
        store.finish(job_id, "w", "succeeded", result={})
        folder = maintenance.settings.jobs_dir / job_id
        folder.mkdir(parents=True)
        (folder / "result.mp4").write_bytes(b"video")
    store.claim(running, "w")
    ended = store.get(old).finished  # type: ignore[union-attr]
    assert ended is not None

    maintenance.expire_results(ended + 0.5 * DAY)
    assert store.get(old).status == "succeeded"  # type: ignore[union-attr]
    maintenance.expire_results(ended + 1.01 * DAY)
    statuses = {j: store.get(j).status for j in (old, fresh, running)}  # type: ignore[union-attr]
    assert statuses == {old: "expired", fresh: "expired", running: "running"}
    assert not (maintenance.settings.jobs_dir / old).exists()


def test_a_job_recorded_but_never_enqueued_is_enqueued_by_the_next_pass(
    parts: tuple[JobStore, Maintenance, JobQueue],
) -> None:
    store, maintenance, queue = parts
    job_id = new_job(store)
    assert queue.depth() == 0 and [j.id for j in store.unenqueued()] == [job_id]
    maintenance.run_once()
    assert queue.depth() == 1 and store.unenqueued() == []
    maintenance.run_once()
    assert queue.depth() == 1


def test_idempotency_keys_are_per_owner(parts: tuple[JobStore, Maintenance, JobQueue]) -> None:
    from lipsync_tool.serve.jobs import DuplicateKey

    store = parts[0]
    store.create("a", "warp", {}, {}, idempotency_key="k", body_hash="1")
    store.create("b", "warp", {}, {}, idempotency_key="k", body_hash="2")
    with pytest.raises(DuplicateKey):
        store.create("a", "warp", {}, {}, idempotency_key="k", body_hash="1")
    assert store.by_key("b", "k").body_hash == "2"  # type: ignore[union-attr]


def test_each_engine_has_its_lane() -> None:
    from lipsync_tool.serve.queue import lane_of

    assert [lane_of(e) for e in ("warp", "wav2lip", "sadtalker")] == ["cpu", "gpu", "gpu"]


def test_no_gpu_means_one_gpu_lane_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    settings = settings_for(tmp_path, workers=3)
    assert settings.lane_workers("cpu") == 3 and settings.lane_workers("gpu") == 1
    assert settings_for(tmp_path, gpu_workers=0).lane_workers("gpu") == 0
