"""A worker process: claims jobs from the table, renders them with Renderers it keeps loaded.

Each worker process holds one Renderer per engine it has served. While a job runs, a heartbeat
thread records that the worker is alive and turns a cancel asked for through the API into the
render's cancel event. A worker killed mid-render stops beating; the server then retries or
fails the job (`maintenance`), and the Renderer's atomic output means no partial file is kept.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

from ..engine.registry import DEFAULT_ENGINE
from ..errors import Cancelled, LipSyncError
from .jobspec import JobSpec
from .settings import ServeSettings
from .store import Job, JobStore

if TYPE_CHECKING:
    from ..renderer import Renderer

log = logging.getLogger(__name__)


class ProgressRelay:
    """A Renderer progress callback that writes the job's progress at most every `interval` s."""

    def __init__(self, store: JobStore, job_id: str, worker: str, interval: float = 0.25) -> None:
        self.store, self.job_id, self.worker, self.interval = store, job_id, worker, interval
        self._stage: str | None = None
        self._stage_start = 0.0
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if stage != self._stage:
            self._stage, self._stage_start = stage, now
        elif now - self._last < self.interval and (total is None or done < total):
            return
        self._last = now
        eta = None
        if total and done:
            eta = round((now - self._stage_start) / done * (total - done), 2)
        self.store.progress(self.job_id, self.worker, stage, done, total, eta)


class JobRunner:
    """Runs the jobs of one worker process."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.store = JobStore(settings.jobs_db)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.renderers: dict[str, Renderer] = {}
        self._current: tuple[str, threading.Event] | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def start_heartbeat(self) -> None:
        """Beat in the background until `stop` or the end of the process."""
        threading.Thread(target=self._beat, name="heartbeat", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _beat(self) -> None:
        host, pid = socket.gethostname(), os.getpid()
        while True:
            try:
                self.store.worker_seen(self.worker_id, host, pid)
                self._beat_job()
            except Exception:  # a locked or vanished table must not end the beat
                log.exception("heartbeat failed")
            if self._stopped.wait(self.settings.heartbeat):
                return

    def _beat_job(self) -> None:
        with self._lock:
            current = self._current
        if current is not None and self.store.beat(current[0], self.worker_id):
            current[1].set()

    def warm(self, engine: str) -> None:
        """Load `engine`'s Renderer now, so the first job does not wait for it."""
        try:
            self._renderer(engine)
        except LipSyncError as exc:  # the jobs that ask for it will fail with the same message
            log.warning("could not load the %s engine: %s", engine, exc)

    def run(self, job_id: str) -> None:
        """Claim and render one job; every outcome ends in the job table."""
        job = self.store.claim(job_id, self.worker_id)
        if job is None:
            log.info("job %s is no longer queued; skipped", job_id)
            return
        cancel = threading.Event()
        with self._lock:
            self._current = (job_id, cancel)
        try:
            self._render(job, cancel)
        finally:
            with self._lock:
                self._current = None

    def _render(self, job: Job, cancel: threading.Event) -> None:
        relay = ProgressRelay(self.store, job.id, self.worker_id)
        try:
            spec = JobSpec(job.engine, job.options)
            request = spec.request(
                self.settings.jobs_dir / job.id,
                portrait=job.inputs["portrait"],
                audio=job.inputs.get("audio"),
                text=job.inputs.get("text"),
            )
            result = self._renderer(job.engine).render(request, progress=relay, cancel=cancel)
        except Cancelled:
            self.store.finish(job.id, self.worker_id, "cancelled")
        except LipSyncError as exc:
            self.store.finish(
                job.id, self.worker_id, "failed", error=(type(exc).__name__, str(exc))
            )
        except Exception as exc:  # a bug: the job says so in one line; the log has the traceback
            log.exception("job %s failed", job.id)
            message = f"internal error: {type(exc).__name__}: {exc}"
            self.store.finish(job.id, self.worker_id, "failed", error=("InternalError", message))
        else:
            data = result.to_dict()
            data.pop("temp_dir", None)
            data["output"] = result.output.name
            data["bytes"] = result.output.stat().st_size
            self.store.finish(job.id, self.worker_id, "succeeded", result=data)

    def _renderer(self, engine: str) -> Renderer:
        if engine not in self.renderers:
            from ..renderer import Renderer

            self.renderers[engine] = Renderer(engine, cache_dir=self.settings.cache_dir)
        return self.renderers[engine]


def run_workers(settings: ServeSettings) -> None:
    """Consume the queue with `settings.worker_count` processes until interrupted."""
    from .queue import JobQueue

    holder: dict[str, JobRunner] = {}

    def start() -> None:  # in each worker process, after the fork
        runner = JobRunner(settings)
        runner.start_heartbeat()
        runner.warm(DEFAULT_ENGINE)
        holder["runner"] = runner

    def handle(job_id: str) -> None:
        holder["runner"].run(job_id)

    queue = JobQueue(settings, handle)
    queue.consumer(settings.worker_count, start).run()
