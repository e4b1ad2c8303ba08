"""`lipsync-tool serve` and `lipsync-tool worker`: flags into ServeSettings."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..deps import Requirement, missing_requirements
from ..errors import InputError
from ..serve import settings as defaults

REQUIREMENTS = (
    Requirement("fastapi", "fastapi"),
    Requirement("uvicorn", "uvicorn"),
    Requirement("huey", "huey"),
    Requirement("multipart", "python-multipart"),
)


def require_extra() -> None:
    """InputError naming the install command when the [serve] extra is missing."""
    missing = missing_requirements(REQUIREMENTS)
    if missing:
        names = ", ".join(r.spec for r in missing)
        raise InputError(
            f"the service needs {names}, which is not installed; install it with: "
            'pip install "lipsync-tool[serve]"'
        )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="job table, queue, uploads and results (default: the user data folder, e.g. "
        "~/.local/share/lipsync-tool/serve)",
    )
    parser.add_argument(
        "--queue",
        default=defaults.DEFAULT_QUEUE,
        metavar="sqlite|redis://HOST:PORT/DB",
        help="the job queue: a file in --data-dir, or Redis for workers on other machines "
        "(default: sqlite)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="render processes on this machine (default: one per core)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="the model cache (default: as for renders)"
    )
    parser.add_argument("--heartbeat", type=float, default=2.0, help=argparse.SUPPRESS)


def build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=defaults.DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=defaults.DEFAULT_PORT, help="port")
    _common(parser)
    parser.add_argument(
        "--api-keys-file",
        type=Path,
        default=None,
        help="one API key a line; required to listen beyond 127.0.0.1",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=defaults.DEFAULT_MAX_UPLOAD_MB,
        help="largest upload accepted (default: %(default)g)",
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=defaults.DEFAULT_MAX_DURATION,
        metavar="SECONDS",
        help="longest speech a job may have (default: %(default)g)",
    )
    parser.add_argument(
        "--min-free-disk-mb",
        type=float,
        default=defaults.DEFAULT_DISK_FLOOR_MB,
        help="refuse new jobs (507) below this much free disk in --data-dir (default: %(default)g)",
    )
    parser.add_argument(
        "--retention-days",
        type=float,
        default=defaults.DEFAULT_RETENTION_DAYS,
        help="results are deleted this long after their job ended (default: %(default)g)",
    )
    parser.add_argument(
        "--jobs-per-owner",
        type=int,
        default=defaults.DEFAULT_JOBS_PER_OWNER,
        help="queued and running jobs one API key may have (default: %(default)d)",
    )
    parser.add_argument("--stale-after", type=float, default=30.0, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    require_extra()
    from ..serve.server import serve
    from ..serve.settings import ServeSettings

    serve(
        ServeSettings(
            data_dir=args.data_dir or defaults.default_data_dir(),
            host=args.host,
            port=args.port,
            workers=args.workers,
            queue=args.queue,
            api_keys_file=args.api_keys_file,
            max_upload_mb=args.max_upload_mb,
            max_duration=args.max_duration,
            disk_floor_mb=args.min_free_disk_mb,
            retention_days=args.retention_days,
            jobs_per_owner=args.jobs_per_owner,
            cache_dir=args.cache_dir,
            heartbeat=args.heartbeat,
            stale_after=args.stale_after,
        )
    )
    return 0


def build_worker(parser: argparse.ArgumentParser) -> None:
    _common(parser)


def run_worker(args: argparse.Namespace) -> int:
    require_extra()
    from ..serve.server import work
    from ..serve.settings import ServeSettings

    work(
        ServeSettings(
            data_dir=args.data_dir or defaults.default_data_dir(),
            workers=args.workers,
            queue=args.queue,
            cache_dir=args.cache_dir,
            heartbeat=args.heartbeat,
        )
    )
    return 0
