"""Where the generator runs (CUDA with fp16 autocast, else CPU), how big its batches may be, and OOM retries."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ...errors import EngineError

log = logging.getLogger(__name__)

T = TypeVar("T")

BYTES_PER_SAMPLE = 24 * 2**20
"""Rough peak memory of one frame in a generator batch (fp32 activations of the decoder, with margin)."""
MEMORY_SHARE = 0.25
"""Share of the free memory a generator batch may take."""


@dataclass(frozen=True)
class DeviceChoice:
    """The torch device to run on and how."""

    device: str
    """"cuda" or "cpu"."""
    half: bool
    """Run the generator under fp16 autocast (CUDA only)."""
    threads: int | None
    """CPU threads given to torch; None on CUDA."""


def cpu_threads() -> int:
    """CPUs this process may run on (the affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def select_device() -> DeviceChoice:
    """CUDA when torch sees a GPU (fp16 autocast), else the CPU with one torch thread per usable CPU."""
    import torch

    if torch.cuda.is_available():
        return DeviceChoice("cuda", half=True, threads=None)
    threads = cpu_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return DeviceChoice("cpu", half=False, threads=threads)


def free_memory(device: str) -> int | None:
    """Free bytes on `device` (GPU memory for CUDA, available RAM for the CPU); None when unknown."""
    if device == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def batch_for_memory(requested: int, free: int | None, *, half: bool = False) -> int:
    """`requested`, lowered so that one batch stays within MEMORY_SHARE of `free` bytes (at least 1)."""
    if free is None:
        return requested
    per_sample = BYTES_PER_SAMPLE // (2 if half else 1)
    return max(1, min(requested, int(free * MEMORY_SHARE) // per_sample))


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch's (CUDA) out-of-memory errors, recognised without importing torch."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "OutOfMemoryError" in names or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def run_batches(
    total: int,
    batch: int,
    run: Callable[[int, int], T],
    *,
    release: Callable[[], None] = lambda: None,
) -> Iterator[tuple[int, int, T]]:
    """Yield (start, stop, run(start, stop)) over range(total) in batches; on out-of-memory, halve and retry.

    `release` frees cached memory before a retry (torch.cuda.empty_cache). At batch 1 an
    out-of-memory error becomes one EngineError naming the way out.
    """
    start = 0
    while start < total:
        stop = min(total, start + batch)
        try:
            result = run(start, stop)
        except Exception as exc:  # noqa: BLE001 -- only out-of-memory is handled, anything else re-raised
            if not is_out_of_memory(exc):
                raise
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        else:
            yield start, stop, result
            start = stop
            continue
        release()  # outside the except block, so the failed batch's tensors are no longer referenced
        if batch == 1:
            raise EngineError(
                f"out of memory even with a generator batch of 1 ({message}); free the GPU, or run on the CPU "
                "with CUDA_VISIBLE_DEVICES= (empty)"
            )
        batch = max(1, batch // 2)
        log.warning("out of memory (%s); retrying with a generator batch of %d", message, batch)


__all__ = [
    "DeviceChoice",
    "batch_for_memory",
    "cpu_threads",
    "free_memory",
    "is_out_of_memory",
    "run_batches",
    "select_device",
]
