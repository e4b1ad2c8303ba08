"""`lipsync-tool serve` and `lipsync-tool worker`: flags into ServeSettings."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from ..deps import Requirement, missing_requirements
from ..errors import InputError
from ..serve import settings as defaults

REQUIREMENTS = (
    Requirement("fastapi", "fastapi"),
    Requirement("uvicorn", "uvicorn"),
    Requirement("huey", "huey"),
    Requirement("multipart", "python-multipart"),
)
DEFAULTS = {f.name: f.default for f in dataclasses.fields(defaults.ServeSettings)}

# (flag, settings field, type, help); the defaults come from ServeSettings
COMMON: tuple[tuple[str, str, Any, str], ...] = (
    (
        "--data-dir",
        "data_dir",
        Path,
        "job table, queue, uploads and results (default: the user data folder, e.g. "
        "~/.local/share/lipsync-tool/serve)",
    ),
    (
        "--queue",
        "queue",
        str,
        "the job queue: sqlite (a file in --data-dir) or redis://HOST:PORT/DB, which workers on "
        "other machines join (default: sqlite)",
    ),
    ("--workers", "workers", int, "warp render processes on this machine (default: one per core)"),
    (
        "--gpu-workers",
        "gpu_workers",
        int,
        "render processes for wav2lip and sadtalker (default: one per GPU, or one without GPU)",
    ),
    ("--cache-dir", "cache_dir", Path, "the model cache (default: as for renders)"),
)
SERVER: tuple[tuple[str, str, Any, str], ...] = (
    ("--host", "host", str, "address to listen on (default: %(default)s)"),
    ("--port", "port", int, "port (default: %(default)s)"),
    (
        "--api-keys-file",
        "api_keys_file",
        Path,
        "one API key a line; required to listen beyond 127.0.0.1",
    ),
    ("--max-upload-mb", "max_upload_mb", float, "largest upload accepted (default: %(default)g)"),
    (
        "--max-duration",
        "max_duration",
        float,
        "longest speech a job may have, in seconds (default: %(default)g)",
    ),
    (
        "--min-free-disk-mb",
        "disk_floor_mb",
        float,
        "refuse new jobs (507) below this much free disk in --data-dir (default: %(default)g)",
    ),
    (
        "--retention-days",
        "retention_days",
        float,
        "results are deleted this long after their job ended (default: %(default)g)",
    ),
    (
        "--jobs-per-owner",
        "jobs_per_owner",
        int,
        "queued and running jobs one API key may have (default: %(default)d)",
    ),
)
HIDDEN = (("--heartbeat", "heartbeat", float), ("--stale-after", "stale_after", float))
"""Timing knobs for tests, not shown in --help."""


def require_extra() -> None:
    """InputError naming the install command when the [serve] extra is missing."""
    missing = missing_requirements(REQUIREMENTS)
    if missing:
        names = ", ".join(r.spec for r in missing)
        raise InputError(
            f"the service needs {names}, which is not installed; install it with: "
            'pip install "lipsync-tool[serve]"'
        )


def _add(parser: argparse.ArgumentParser, flags: tuple[tuple[str, str, Any, str], ...]) -> None:
    for flag, name, kind, text in flags:
        default = DEFAULTS[name] if name != "data_dir" else None
        metavar = flag.lstrip("-").upper().replace("-", "_")
        parser.add_argument(flag, dest=name, type=kind, default=default, metavar=metavar, help=text)


def _settings(args: argparse.Namespace) -> defaults.ServeSettings:
    values = {name: getattr(args, name) for name in DEFAULTS if hasattr(args, name)}
    values["data_dir"] = values["data_dir"] or defaults.default_data_dir()
    return defaults.ServeSettings(**values)


def build(parser: argparse.ArgumentParser) -> None:
    """Arguments of `serve`."""
    from .assist import add_model_flags

    _add(parser, SERVER + COMMON)
    add_model_flags(parser)  # the web page's assistant; the dests are ServeSettings' fields
    for flag, name, kind in HIDDEN:
        parser.add_argument(
            flag, dest=name, type=kind, default=DEFAULTS[name], help=argparse.SUPPRESS
        )


def run(args: argparse.Namespace) -> int:
    require_extra()
    from ..serve.server import serve

    serve(_settings(args))
    return 0


def build_worker(parser: argparse.ArgumentParser) -> None:
    """Arguments of `worker`."""
    from ..serve.queue import LANES

    _add(parser, COMMON)
    flag, name, kind = HIDDEN[0]
    parser.add_argument(flag, dest=name, type=kind, default=DEFAULTS[name], help=argparse.SUPPRESS)
    # one lane's consumer: what `worker` (and `serve`) start for each lane
    parser.add_argument("--lane", choices=LANES, default=None, help=argparse.SUPPRESS)


def run_worker(args: argparse.Namespace) -> int:
    require_extra()
    from ..serve.server import work

    work(_settings(args), args.lane)
    return 0
