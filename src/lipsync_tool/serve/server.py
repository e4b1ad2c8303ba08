"""`lipsync-tool serve` and `lipsync-tool worker`: the processes of the service."""

from __future__ import annotations

import logging
import subprocess
import sys

from .settings import ServeSettings

log = logging.getLogger(__name__)

STOP_GRACE = 15.0
"""Seconds the workers get to finish their renders when the server stops."""


def serve(settings: ServeSettings) -> None:
    """Run the web app until interrupted, with `settings.worker_count` local workers beside it."""
    import uvicorn

    from .app import create_app
    from .maintenance import Maintenance

    settings.check_exposure()
    app = create_app(settings)
    service = app.state.service
    maintenance = Maintenance(settings, service.store, service.queue)
    maintenance.run_once()  # queued jobs left by the last run go back in the queue first
    workers = start_workers(settings) if settings.worker_count else None
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
        if workers is not None:
            stop_workers(workers)


def start_workers(settings: ServeSettings) -> subprocess.Popen[bytes]:
    """`lipsync-tool worker` for the same data folder and queue, as a child process."""
    command = [
        sys.executable,
        "-m",
        "lipsync_tool",
        "worker",
        "--data-dir",
        str(settings.data_dir),
        "--queue",
        settings.queue,
        "--workers",
        str(settings.worker_count),
        "--heartbeat",
        str(settings.heartbeat),
    ]
    if settings.cache_dir is not None:
        command += ["--cache-dir", str(settings.cache_dir)]
    log.info("starting %d workers", settings.worker_count)
    return subprocess.Popen(command)


def stop_workers(workers: subprocess.Popen[bytes]) -> None:
    """Ask the workers to finish (SIGINT), then stop them (SIGTERM), then kill them."""
    workers.send_signal(subprocess.signal.SIGINT)  # type: ignore[attr-defined]
    try:
        workers.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        workers.terminate()
        try:
            workers.wait(5)
        except subprocess.TimeoutExpired:
            workers.kill()
            workers.wait()


def work(settings: ServeSettings) -> None:
    """Consume the queue with `settings.worker_count` processes until interrupted."""
    from .worker import run_workers

    if not settings.worker_count:
        from ..errors import InputError

        raise InputError("--workers 0: a worker needs at least one process")
    run_workers(settings)
