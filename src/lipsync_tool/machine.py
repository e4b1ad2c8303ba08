"""What this machine offers for rendering: usable cores and GPUs (without importing torch)."""

from __future__ import annotations

import os


def gpu_count() -> int:
    """NVIDIA GPUs this process may use, from `nvidia-smi -L` and CUDA_VISIBLE_DEVICES, without
    importing torch (0 when there is no driver)."""
    import shutil
    import subprocess

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and not visible.strip():
        return 0
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return 0
    found = sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))
    if visible is not None:
        return min(found, len([d for d in visible.split(",") if d.strip()]))
    return found


def default_workers() -> int:
    """One worker per usable core (the warp engine renders on one core at a time)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


THREADS_ENV = "LIPSYNC_THREADS"


def threads(default: int) -> int:
    """Threads one render may use for its models and its encoder: LIPSYNC_THREADS when set (a
    batch or a server sets it so that its workers do not crowd each other), else `default`."""
    value = os.environ.get(THREADS_ENV, "").strip()
    return max(1, int(value)) if value.isdigit() else default


def threads_given() -> int | None:
    """LIPSYNC_THREADS, when set."""
    value = os.environ.get(THREADS_ENV, "").strip()
    return max(1, int(value)) if value.isdigit() else None


def available_memory_mb() -> float | None:
    """Memory the kernel says is available for new work (MemAvailable); None off Linux."""
    return _proc_kib("/proc/meminfo", "MemAvailable:")


def peak_memory_mb() -> float | None:
    """This process's peak resident memory (VmHWM); None off Linux."""
    return _proc_kib("/proc/self/status", "VmHWM:")


def _proc_kib(path: str, key: str) -> float | None:
    """The kB figure on the line of `path` that starts with `key`, in MB."""
    from pathlib import Path

    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
