"""`lipsync-tool serve` and `lipsync-tool worker`: the processes of the service."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

from .settings import ServeSettings

log = logging.getLogger(__name__)

STOP_GRACE = 15.0
"""Seconds the workers get to finish their renders when the server stops."""


def serve(settings: ServeSettings) -> None:
    """Run the web app until interrupted, with the local workers of each lane beside it."""
    import uvicorn

    from .app import create_app
    from .maintenance import Maintenance

    settings.check_exposure()
    app = create_app(settings)
    service = app.state.service
    maintenance = Maintenance(settings, service.store, service.queue)
    maintenance.run_once()  # queued jobs left by the last run go back in the queue first
    workers = start_lanes(settings)
    loops = [maintenance.loop()]
    if service.queue.remote:
        from .redis_reports import ReportPump

        loops.append(ReportPump(settings.queue, service.store, settings.jobs_dir).loop())
    for loop in loops:
        loop.start()
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
        )
    finally:
        for loop in loops:
            loop.stop()
        stop_lanes(workers)


def start_lanes(settings: ServeSettings) -> list[subprocess.Popen[bytes]]:
    """`lipsync-tool worker --lane L` for each lane that has workers, as child processes."""
    from .queue import LANES

    children = []
    for lane in LANES:
        count = settings.lane_workers(lane)
        if not count:
            continue
        command = [
            sys.executable, "-m", "lipsync_tool", "worker", "--lane", lane,
            "--data-dir", str(settings.data_dir), "--queue", settings.queue,
            "--workers", str(settings.worker_count),
            "--gpu-workers", str(settings.gpu_worker_count),
            "--heartbeat", str(settings.heartbeat),
        ]  # fmt: skip
        if settings.cache_dir is not None:
            command += ["--cache-dir", str(settings.cache_dir)]
        log.info("starting %d %s workers", count, lane)
        children.append(subprocess.Popen(command))
    return children


def stop_lanes(children: list[subprocess.Popen[bytes]]) -> None:
    """Ask the workers to finish (SIGINT), then stop them (SIGTERM), then kill them."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def work(settings: ServeSettings, lane: str | None = None) -> None:
    """Consume `lane` of the queue until interrupted; without a lane, start one child process
    per lane that has workers and stop them when interrupted (SIGINT or SIGTERM)."""
    from .worker import run_workers

    if lane is not None:
        run_workers(settings, lane)
        return
    if not settings.worker_count and not settings.gpu_worker_count:
        from ..errors import InputError

        raise InputError("--workers 0 --gpu-workers 0: a worker needs at least one process")
    signal.signal(signal.SIGTERM, _interrupt)
    children = start_lanes(settings)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        log.error("a worker lane stopped (exit status %s); stopping", [c.poll() for c in children])
    except KeyboardInterrupt:
        pass
    finally:
        stop_lanes(children)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
