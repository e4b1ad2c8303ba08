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
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.registry import DEFAULT_ENGINE
from ..errors import Cancelled, LipSyncError
from ..machine import THREADS_ENV, default_workers
from .channels import Channel, Claim, LocalChannel, RedisChannel
from .jobspec import JobSpec
from .settings import ServeSettings, queue_kind
from .store import JobStore

if TYPE_CHECKING:
    from ..renderer import Renderer

log = logging.getLogger(__name__)


class ProgressRelay:
    """A Renderer progress callback that reports the job's progress at most every `interval` s."""

    def __init__(self, channel: Channel, job_id: str, worker: str, interval: float = 0.25) -> None:
        self.channel, self.job_id, self.worker, self.interval = channel, job_id, worker, interval
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
        self.channel.progress(self.job_id, self.worker, stage, done, total, eta)


class JobRunner:
    """Runs the jobs of one worker process."""

    def __init__(self, settings: ServeSettings, channel: Channel | None = None) -> None:
        self.settings = settings
        self.channel = channel or open_channel(settings)
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
                self.channel.seen(self.worker_id, host, pid)
                self._beat_job()
            except Exception:  # a locked or vanished table must not end the beat
                log.exception("heartbeat failed")
            if self._stopped.wait(self.settings.heartbeat):
                return

    def _beat_job(self) -> None:
        with self._lock:
            current = self._current
        if current is not None and self.channel.beat(current[0], self.worker_id):
            current[1].set()

    def warm(self, engine: str) -> None:
        """Load `engine`'s Renderer and render the bundled demo portrait once, so the first job
        pays neither the loads nor a first render's one-time costs (lazy imports, first model
        runs): on a 2-core machine a cold first render of 3 s of speech took 0.6 s longer."""
        from ..demo import demo_request

        try:
            renderer = self._renderer(engine)
            with tempfile.TemporaryDirectory(prefix="lipsync-warm-") as folder:
                request = demo_request(Path(folder) / "warm.mp4", text="Hello, Bob.")
                renderer.render(request.replace(upscale=False, fps=12))
        except LipSyncError as exc:  # the jobs that ask for it will fail with the same message
            log.warning("could not warm up the %s engine: %s", engine, exc)

    def run(self, ticket: dict[str, Any] | str) -> None:
        """Claim and render one job; every outcome is reported. A bare id is a local ticket."""
        ticket = {"id": ticket} if isinstance(ticket, str) else ticket
        claim = self.channel.claim(ticket, self.worker_id)
        if claim is None:
            log.info("job %s is no longer queued; skipped", ticket["id"])
            return
        cancel = threading.Event()
        with self._lock:
            self._current = (claim.id, cancel)
        try:
            self._render(claim, cancel)
        finally:
            with self._lock:
                self._current = None

    def _render(self, claim: Claim, cancel: threading.Event) -> None:
        relay = ProgressRelay(self.channel, claim.id, self.worker_id)
        finish = self.channel.finish
        try:
            spec = JobSpec(claim.engine, claim.options)
            request = spec.request(
                claim.folder,
                portrait=claim.inputs["portrait"],
                audio=claim.inputs.get("audio"),
                text=claim.inputs.get("text"),
            )
            result = self._renderer(claim.engine).render(request, progress=relay, cancel=cancel)
        except Cancelled:
            finish(claim, self.worker_id, "cancelled")
        except LipSyncError as exc:
            finish(claim, self.worker_id, "failed", error=(type(exc).__name__, str(exc)))
        except Exception as exc:  # a bug: the job says so in one line; the log has the traceback
            log.exception("job %s failed", claim.id)
            message = f"internal error: {type(exc).__name__}: {exc}"
            finish(claim, self.worker_id, "failed", error=("InternalError", message))
        else:
            data = result.to_dict()
            data.pop("temp_dir", None)
            data["output"] = result.output.name
            data["bytes"] = result.output.stat().st_size
            finish(claim, self.worker_id, "succeeded", result=data)

    def _renderer(self, engine: str) -> Renderer:
        if engine not in self.renderers:
            from ..renderer import Renderer

            self.renderers[engine] = Renderer(engine, cache_dir=self.settings.cache_dir)
        return self.renderers[engine]


def open_channel(settings: ServeSettings) -> Channel:
    """The channel to the server that `settings.queue` implies."""
    if queue_kind(settings.queue) == "redis":
        return RedisChannel(settings.queue)
    return LocalChannel(JobStore(settings.jobs_db), settings.jobs_dir)


def run_workers(settings: ServeSettings, lane: str) -> None:
    """Consume `lane` of the queue with its number of processes until interrupted."""
    from .queue import JobQueue, lane_of

    holder: dict[str, JobRunner] = {}
    workers = settings.lane_workers(lane)

    def start() -> None:  # in each worker process, after the fork
        if lane == "cpu":  # the lane's workers share the cores; each render keeps to its share
            os.environ.setdefault(THREADS_ENV, str(max(1, default_workers() // workers)))
        runner = JobRunner(settings)
        runner.start_heartbeat()
        if lane_of(DEFAULT_ENGINE) == lane:
            runner.warm(DEFAULT_ENGINE)
        holder["runner"] = runner

    def handle(ticket: dict[str, Any]) -> None:
        holder["runner"].run(ticket)

    queue = JobQueue(settings, handle)
    queue.consumer(lane, workers, start).run()
