"""The job queue on huey: a SQLite file in the data folder by default, or Redis.

Only job ids travel through the queue; the job table says what each job is and whether it should
still run. The web process enqueues; `lipsync-tool worker` consumes with one process per worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .settings import ServeSettings, queue_kind

TASK_NAME = "lipsync.render"


class JobQueue:
    """Enqueue job ids; in a worker process, hand each to `handler`."""

    def __init__(
        self, settings: ServeSettings, handler: Callable[[str], None] | None = None
    ) -> None:
        from huey import RedisHuey, SqliteHuey

        self.settings = settings
        self.huey: Any
        if queue_kind(settings.queue) == "redis":
            self.huey = RedisHuey("lipsync", url=settings.queue, results=False)
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self.huey = SqliteHuey(
                "lipsync", filename=str(settings.queue_db), results=False, timeout=30
            )
        self._handler = handler
        self._task = self.huey.task(name=TASK_NAME)(self._run)

    def _run(self, job_id: str) -> None:
        if self._handler is None:
            raise RuntimeError("this JobQueue only enqueues; give it a handler to consume")
        self._handler(job_id)

    def enqueue(self, job_id: str) -> None:
        self._task(job_id)

    def depth(self) -> int:
        """Job ids waiting in the queue (a cancelled job's id waits until a worker drops it)."""
        return int(self.huey.pending_count())

    def consumer(self, workers: int, on_start: Callable[[], None]) -> Any:
        """A huey consumer of `workers` processes, each calling `on_start` once when it starts."""
        self.huey.on_startup()(on_start)
        return self.huey.create_consumer(
            workers=workers,
            worker_type="process",
            periodic=False,
            # poll an idle SQLite queue every 0.1 s (huey's default backs off to 10 s)
            initial_delay=0.1,
            backoff=1.0,
            max_delay=0.1,
            health_check_interval=1,
        )
