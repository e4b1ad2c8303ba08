"""`lipsync-tool batch MANIFEST --out-dir DIR`: many renders, validated first, on worker processes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from .render import add_render_options, request_fields, settings_from_args

if TYPE_CHECKING:
    from ..batch.runner import Batch, BatchReport, BatchRow, Validation, WorkerPool

log = logging.getLogger("lipsync_tool")


def build(parser: argparse.ArgumentParser) -> None:
    """Arguments of `batch`: its own, then every render option (each row may override them)."""
    parser.add_argument(
        "manifest",
        metavar="MANIFEST",
        type=Path,
        help="CSV or JSONL, one render a row: portrait, audio or text, output, and any render "
        "option as a column (input paths relative to the manifest)",
    )
    parser.add_argument(
        "--out-dir", type=Path, required=True, help="outputs (the output column is relative to it)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="render processes (default: one per core for warp, one per GPU for the others)",
    )
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: processes on this machine; ray: Ray actors, on a cluster with "
        "--ray-address (the [cluster] extra)",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="join this Ray cluster (auto: the one `ray start` made here; default: start a "
        "local Ray on 127.0.0.1)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip rows rendered before from the same inputs and options (per results.jsonl)",
    )
    parser.add_argument(
        "--skip-invalid", action="store_true", help="render the valid rows when some are not"
    )
    add_render_options(parser)


def batch_estimate(good: list[BatchRow], workers: int, args: argparse.Namespace) -> str:
    """One line: the batch's expected time, each worker loading its models once."""
    from ..estimate import engine_cost, estimate
    from ..progress import duration_text

    settings = settings_from_args(args)
    rows = [
        estimate(row.request, args.engine, cache_dir=args.cache_dir, loaded=True, settings=settings)
        for row in good
    ]
    load = engine_cost(args.engine, _cache(args))[0].load
    typical = load + sum(r.seconds for r in rows) / workers
    high = load + sum(r.seconds_high for r in rows) / workers
    speech = sum(r.speech_seconds for r in rows)
    return (
        f"estimate: about {duration_text(typical)} (up to {duration_text(high)}) for "
        f"{len(rows)} rows, {duration_text(speech)} of speech, on {workers} workers"
    )


def _cache(args: argparse.Namespace) -> Path:
    from ..cache import resolve_cache_dir

    return resolve_cache_dir(args.cache_dir)


def default_workers(engine: str) -> int:
    from ..engine.registry import engine_class
    from ..machine import default_workers as cores
    from ..machine import gpu_count

    return max(1, gpu_count()) if engine_class(engine).accelerated else cores()


def run(args: argparse.Namespace) -> int:
    from ..batch.local import RendererSpec
    from ..batch.manifest import read_manifest
    from ..batch.runner import Batch

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: give 1 or more")
    if args.ray_address and args.backend != "ray":
        raise InputError("--ray-address needs --backend ray")
    fields, options = request_fields(args)
    manifest = args.manifest.expanduser().resolve()
    rows = read_manifest(manifest)
    spec = RendererSpec(args.engine, settings_from_args(args), args.cache_dir, args.install_deps)
    out_dir = args.out_dir.expanduser().resolve()
    batch = Batch(rows, manifest.parent, out_dir, spec, fields, options)
    workers = min(args.workers or default_workers(args.engine), max(1, len(rows)))
    pool, found = batch.start(workers, args.resume, args.backend, args.ray_address)
    try:
        return _run(args, batch, found, workers, pool)
    finally:
        pool.close()


def _run(
    args: argparse.Namespace, batch: Batch, found: Validation, workers: int, pool: WorkerPool
) -> int:
    from ..batch.results import ResultsLog

    rows, out_dir = batch.rows, batch.out_dir
    good, bad, skipped = found.rows, found.invalid, found.skipped
    for line in bad:
        print(line, file=sys.stderr)
    if bad and not args.skip_invalid:
        found.undo()
        raise InputError(
            f"{len(bad)} of {len(rows)} rows are invalid (above) and nothing was rendered; fix "
            "them, or render the others with --skip-invalid"
        )
    results = ResultsLog(out_dir)
    for line in bad:
        number, message = line.split(": ", 1)
        results.append({"row": int(number[4:]), "status": "invalid", "error": {"message": message}})
    if skipped:
        log.info("%d rows were rendered before from the same inputs; skipped", skipped)
    workers = min(workers, max(1, len(good)))
    if good:
        log.info("%s", batch_estimate(good, workers, args))
    report = _render(batch, good, workers, results.path, args, pool)
    if report is None:
        return 130
    print(
        f"{len(rows)} rows: {report.succeeded} rendered, {report.failed} failed, "
        f"{len(bad)} invalid, {skipped} done before; {report.seconds:.1f} s; "
        f"results in {results.path}"
    )
    return 0 if report.ok and not bad else 1


def _render(
    batch: Batch,
    good: list[BatchRow],
    workers: int,
    results: Path,
    args: argparse.Namespace,
    pool: WorkerPool,
) -> BatchReport | None:
    from ..batch.runner import BatchReport
    from ..progress import ProgressReporter

    if not good:
        return BatchReport(rows=0)
    reporter = ProgressReporter(enabled=args.log_level in ("DEBUG", "INFO"))
    log.info("rendering %d rows on %d %s workers", len(good), workers, args.backend)

    def progress(report: BatchReport) -> None:
        reporter("batch", report.succeeded + report.failed, len(good))

    try:
        return batch.run(good, pool, progress)
    except KeyboardInterrupt:
        print(
            f"error: interrupted; finished rows are kept and listed in {results}, no partial file "
            "is left; run it again with --resume to render the rest",
            file=sys.stderr,
        )
        return None
    finally:
        reporter.close()
