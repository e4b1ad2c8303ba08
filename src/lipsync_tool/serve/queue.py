"""The job queue on huey: a SQLite file in the data folder by default, or Redis.

A ticket travels through the queue: just the job id for workers on this machine (SQLite), the
job with its input files for Redis workers, which may run anywhere. The job table says whether a
job should still run; the web process enqueues, `lipsync-tool worker` consumes.

Two lanes, each a queue of its own with workers of its own: `cpu` for the warp engine (a worker
per core) and `gpu` for the engines that use a GPU (a worker per GPU), so a slow neural job never
holds a warp worker, nor many of them hold every GPU's memory at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .channels import KEEP_SECONDS, cancel_key
from .jobs import Job
from .settings import ServeSettings, queue_kind

TASK_NAME = "lipsync.render"
LANES = ("cpu", "gpu")


def lane_of(engine: str) -> str:
    """The lane whose workers render `engine`'s jobs."""
    from ..engine.registry import engine_class

    return "gpu" if engine_class(engine).accelerated else "cpu"


class JobQueue:
    """Enqueue jobs in their lane; in a worker process, hand each ticket to `handler`."""

    def __init__(
        self, settings: ServeSettings, handler: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.settings = settings
        self.remote = queue_kind(settings.queue) == "redis"
        self.hueys = {lane: self._huey(lane) for lane in LANES}
        self._handler = handler
        self._tasks = {
            lane: huey.task(name=TASK_NAME)(self._run) for lane, huey in self.hueys.items()
        }

    def _huey(self, lane: str) -> Any:
        from huey import RedisHuey, SqliteHuey

        name = "lipsync" if lane == "cpu" else f"lipsync-{lane}"
        if self.remote:
            return RedisHuey(name, url=self.settings.queue, results=False)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(self.settings.queue_db), results=False, timeout=30)

    def _run(self, ticket: dict[str, Any]) -> None:
        if self._handler is None:
            raise RuntimeError("this JobQueue only enqueues; give it a handler to consume")
        self._handler(ticket)

    def enqueue(self, job: Job) -> None:
        self._tasks[lane_of(job.engine)](self.ticket(job))

    def ticket(self, job: Job) -> dict[str, Any]:
        """What a worker needs: the id here; the job and its files for a Redis worker."""
        if not self.remote:
            return {"id": job.id}
        folder = self.settings.jobs_dir / job.id
        names = [job.inputs[k] for k in ("portrait", "audio") if job.inputs.get(k)]
        return {
            "id": job.id,
            "attempt": job.attempts + 1,
            "engine": job.engine,
            "options": job.options,
            "inputs": job.inputs,
            "files": {name: (folder / name).read_bytes() for name in names},
        }

    def cancel(self, job_id: str) -> None:
        """Tell a Redis worker to stop the job (workers here read the job table)."""
        if self.remote:
            self.hueys["cpu"].storage.conn.set(cancel_key(job_id), 1, ex=KEEP_SECONDS)

    def depth(self) -> int:
        """Tickets waiting in both lanes (a cancelled job's waits until a worker drops it)."""
        return sum(int(huey.pending_count()) for huey in self.hueys.values())

    def consumer(self, lane: str, workers: int, on_start: Callable[[], None]) -> Any:
        """A huey consumer of `lane` with `workers` processes, each calling `on_start` once."""
        huey = self.hueys[lane]
        huey.on_startup()(on_start)
        return huey.create_consumer(
            workers=workers,
            worker_type="process",
            periodic=False,
            # poll an idle SQLite queue every 0.05 s (huey's default backs off to 10 s)
            initial_delay=0.05,
            backoff=1.0,
            max_delay=0.05,
            health_check_interval=1,
        )
