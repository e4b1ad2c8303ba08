"""The local backend: worker processes on this machine, each holding one loaded Renderer.

Workers are started with `spawn` (safe with torch and threads) and take rows from a queue; the
batch process alone writes results. On Ctrl-C every worker gets SIGINT, so each render stops at
its next frame and removes its partial file, as a single render does.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..machine import THREADS_ENV
from ..request import RenderRequest

if TYPE_CHECKING:
    from ..renderer import Renderer

log = logging.getLogger(__name__)

STOP_GRACE = 30.0
"""Seconds interrupted workers get to clean up before they are killed."""


@dataclass(frozen=True)
class RendererSpec:
    """How each worker builds its Renderer."""

    engine: str
    settings: dict[str, Any]
    cache_dir: Path | None = None
    install_deps: bool = False
    threads: int | None = None
    """Threads each worker's render may use (LIPSYNC_THREADS); None: the engine's default."""

    def apply_threads(self) -> None:
        """In a worker process: its thread budget, unless the user set LIPSYNC_THREADS."""
        if self.threads is not None:
            os.environ.setdefault(THREADS_ENV, str(self.threads))


@dataclass(frozen=True)
class Outcome:
    """What became of one row: `succeeded` (with `result`), `failed` (with `error`) or
    `cancelled`."""

    key: int
    status: str
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    seconds: float = 0.0
    node: str | None = None
    """The Ray node that rendered it (the Ray backend only)."""


class LocalPool:
    """Worker processes on this machine, each loading its Renderer as soon as it starts: a batch
    starts them before it validates its rows, so the models load meanwhile."""

    def __init__(self, spec: RendererSpec, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        spec = dataclasses.replace(spec, threads=spec.threads or share_of_cores(workers))
        self._tasks: Any = context.Queue()
        self._outcomes: Any = context.Queue()
        self._processes = [
            context.Process(target=_worker, args=(spec, self._tasks, self._outcomes), daemon=True)
            for _ in range(max(1, workers))
        ]
        for process in self._processes:
            process.start()

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self, jobs: Iterable[tuple[int, RenderRequest]], on_outcome: Callable[[Outcome], None]
    ) -> None:
        """Render `jobs` (key, request); `on_outcome` gets each as it ends. KeyboardInterrupt
        stops the workers (their partial files removed) and is raised again. Call once."""
        processes = self._processes
        pending = 0
        for job in jobs:
            self._tasks.put(job)
            pending += 1
        for _ in processes:
            self._tasks.put(None)
        try:
            while pending:
                try:
                    outcome = self._outcomes.get(timeout=1)
                except queue.Empty:
                    if not any(p.is_alive() for p in processes):
                        raise RuntimeError(
                            "every batch worker stopped before the batch ended"
                        ) from None
                    continue
                pending -= 1
                on_outcome(outcome)
        except KeyboardInterrupt:
            _interrupt(processes)
            raise
        finally:
            for process in processes:
                process.join(timeout=STOP_GRACE)

    def close(self) -> None:
        """Stop every worker still running: those given no rows have rendered nothing."""
        for process in self._processes:
            if process.is_alive():
                process.kill()
            process.join()


def share_of_cores(workers: int) -> int:
    """Threads per worker when `workers` share this machine's cores (at least one)."""
    from ..machine import default_workers

    return max(1, default_workers() // max(1, workers))


def _interrupt(processes: list[Any]) -> None:
    """SIGINT to every live worker (as a terminal's Ctrl-C does), then wait for them."""
    for process in processes:
        if process.is_alive() and process.pid is not None:
            try:
                os.kill(process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(timeout=max(0.1, deadline - time.monotonic()))


def _worker(spec: RendererSpec, tasks: Any, outcomes: Any) -> None:
    """A worker process: one Renderer, built as it starts, renders rows until told to stop."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    spec.apply_threads()
    renderers = RendererHolder(spec)
    try:
        renderers.warm()
        while (job := tasks.get()) is not None:
            outcomes.put(render_row(renderers, *job))
    except KeyboardInterrupt:
        return


class RendererHolder:
    """The one Renderer of a worker, built when first asked for."""

    def __init__(self, spec: RendererSpec) -> None:
        self.spec = spec
        self._renderer: Renderer | None = None

    def warm(self) -> None:
        """Build the Renderer ahead of the first row (which reports any failure to build it)."""
        try:
            self.get()
        except Exception:  # noqa: BLE001
            pass

    def get(self) -> Renderer:
        if self._renderer is None:
            from ..renderer import Renderer

            spec = self.spec
            self._renderer = Renderer(
                spec.engine,
                cache_dir=spec.cache_dir,
                install_deps=spec.install_deps,
                **spec.settings,
            )
        return self._renderer


def render_row(renderers: RendererHolder, key: int, request: RenderRequest) -> Outcome:
    """Render one row; its outcome, whatever happens short of an interrupt."""
    from ..errors import LipSyncError

    start = time.perf_counter()
    try:
        result = renderers.get().render(request)
    except LipSyncError as exc:
        error = {"type": type(exc).__name__, "message": str(exc)}
        return Outcome(key, "failed", error=error, seconds=_since(start))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a bug: its row fails with one line, the batch goes on
        error = {"type": "InternalError", "message": f"internal error: {type(exc).__name__}: {exc}"}
        return Outcome(key, "failed", error=error, seconds=_since(start))
    return Outcome(key, "succeeded", result=result.to_dict(), seconds=_since(start))


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
