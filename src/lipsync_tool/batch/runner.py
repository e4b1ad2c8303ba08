"""A batch: validate every row, skip those done before (with resume), render the rest, log each."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import InputError
from ..request import RenderRequest
from .local import LocalPool, Outcome, RendererSpec
from .manifest import Row, row_request
from .results import ResultsLog, row_hash

log = logging.getLogger(__name__)


class WorkerPool(Protocol):
    """Workers holding Renderers (`LocalPool`, `RayPool`), started before the rows are known."""

    def run(
        self, jobs: list[tuple[int, RenderRequest]], on_outcome: Callable[[Outcome], None]
    ) -> None: ...

    def close(self) -> None: ...


def start_workers(
    spec: RendererSpec, workers: int, backend: str = "local", address: str | None = None
) -> WorkerPool:
    """`workers` workers on this machine (`local`), or Ray actors (`ray`: on the cluster at
    `address`, else on a local Ray); they load their models while the caller goes on."""
    if backend == "ray":
        from .ray_backend import RayPool

        return RayPool(spec, workers, address)
    return LocalPool(spec, workers)


@dataclass(frozen=True)
class BatchRow:
    """A row that passed validation."""

    number: int
    request: RenderRequest
    output: str
    """The output relative to the output folder, as results.jsonl names it."""
    hash: str


@dataclass
class Validation:
    """What `Batch.validate` found."""

    rows: list[BatchRow] = field(default_factory=list)
    """Rows to render."""
    invalid: list[str] = field(default_factory=list)
    """One `row N: …` line per row that failed its check."""
    skipped: int = 0
    """Rows rendered before from the same inputs (with resume)."""
    created: list[Path] = field(default_factory=list)
    """Output subfolders the validation created."""

    def make_dirs(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            path.mkdir()
            self.created.append(path)

    def undo(self) -> None:
        """Remove the folders this validation created, when still empty."""
        for path in reversed(self.created):
            try:
                path.rmdir()
            except OSError:
                pass


@dataclass
class BatchReport:
    """What a batch did."""

    rows: int
    succeeded: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Batch:
    """Rows of a manifest, the command's own request fields and engine, and where outputs go."""

    rows: list[Row]
    base: Path
    """The manifest's folder: input paths are relative to it."""
    out_dir: Path
    spec: RendererSpec
    common: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def start(
        self, workers: int, resume: bool, backend: str = "local", address: str | None = None
    ) -> tuple[WorkerPool, Validation]:
        """The workers (see `start_workers`), and every row validated while they start: a Ray
        takes seconds to start and a worker to load its models. The caller closes the pool."""
        stop = threading.Event()
        with ThreadPoolExecutor(1, thread_name_prefix="batch-validate") as executor:
            validating = executor.submit(self.validate, resume, stop)
            try:
                pool = start_workers(self.spec, workers, backend, address)
            except BaseException:
                stop.set()
                validating.result().undo()
                raise
            try:
                return pool, validating.result()
            except BaseException:
                stop.set()
                pool.close()
                raise

    def validate(self, resume: bool, stop: threading.Event | None = None) -> Validation:
        """Rows to render, `row N: …` lines for the bad ones, and how many were done before.

        Every row is checked as a render would check it (files, media, face, options) before
        anything renders; the check loads the face models only. Output subfolders are created
        (`Validation.undo` removes them again). A set `stop` ends the checks early."""
        from ..renderer import Renderer

        checker = Renderer(self.spec.engine, load=False, cache_dir=self.spec.cache_dir)
        done = ResultsLog(self.out_dir).done() if resume else {}
        found = Validation()
        outputs: dict[str, int] = {}
        for row in self.rows:
            if stop is not None and stop.is_set():
                break
            try:
                request = row_request(row, self.common, self.options, self.base, self.out_dir)
                relative = str(request.output.relative_to(self.out_dir))
                if relative in outputs:
                    raise InputError(f"output {relative} is also row {outputs[relative]}'s")
                outputs[relative] = row.number
                found.make_dirs(request.output.parent)
                if resume and relative in done:
                    request = request.replace(overwrite=True)  # this batch made it before
                checker.check(request)
                digest = row_hash(request, self.spec.engine, self.spec.settings)
            except InputError as exc:
                found.invalid.append(f"row {row.number}: {exc}")
                continue
            if done.get(relative) == digest and request.output.exists():
                found.skipped += 1
            else:
                found.rows.append(BatchRow(row.number, request, relative, digest))
        return found

    def run(
        self,
        rows: list[BatchRow],
        pool: WorkerPool,
        on_progress: Callable[[BatchReport], None] = lambda report: None,
    ) -> BatchReport:
        """Render `rows` on `pool` (once: a pool serves one batch); results.jsonl gets a line as
        each ends. KeyboardInterrupt passes up once the workers have stopped, every line already
        written kept."""
        report = BatchReport(rows=len(rows))
        results = ResultsLog(self.out_dir)
        by_number = {row.number: row for row in rows}
        start = time.perf_counter()

        def record(outcome: Outcome) -> None:
            row = by_number[outcome.key]
            if outcome.status == "succeeded":
                report.succeeded += 1
            else:
                report.failed += 1
                message = (outcome.error or {}).get("message", outcome.status)
                log.warning("row %d failed (%d so far): %s", row.number, report.failed, message)
            line = {
                "row": row.number,
                "status": outcome.status,
                "output": row.output,
                "hash": row.hash,
                "seconds": outcome.seconds,
                "stage_seconds": (outcome.result or {}).get("stage_seconds"),
                "error": outcome.error,
            }
            results.append(line | ({"node": outcome.node} if outcome.node else {}))
            on_progress(report)

        self.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Portrait by portrait, so a worker's next row mostly reuses its portrait's set-up.
            ordered = sorted(rows, key=lambda row: str(row.request.portrait))
            pool.run([(row.number, row.request) for row in ordered], record)
        finally:
            report.seconds = round(time.perf_counter() - start, 2)
        return report
