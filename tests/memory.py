"""Peak memory of work run in a child process, read from the child itself before it exits.

Why not `resource.getrusage(RUSAGE_SELF).ru_maxrss` in the child: on Linux, exec keeps the old
memory's high-water mark in the process's `maxrss`, and a child spawned by pytest starts from
pytest's mark (subprocess uses vfork, so the old memory is pytest's own). Once pytest has loaded
models, every child then "peaks" at least that high, and two renders of different lengths look
the same. `RUSAGE_CHILDREN` has the same flaw and is only known after the child is gone.

What this module does instead: the child runs the given Python code, prints a marker line and
blocks reading a line from stdin. The parent, on seeing the marker, reads `VmHWM` (the
high-water mark of resident memory of the child's own address space, started fresh at exec)
from `/proc/<pid>/status` while the child is still alive, then writes the line that lets it
exit. Only the child's own process is measured; processes it spawns (ffmpeg) are not.

    run = run_python_measured("import numpy; a = numpy.ones(10**8)", timeout=60)
    run.peak_mb  # about 800 (MiB) plus the interpreter's own

Linux only: where `/proc/<pid>/status` has no `VmHWM` the calling test is skipped.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

DONE = "--- lipsync-tool tests: work done, waiting for the parent to read VmHWM ---"

# Runs argv[1] as the work (argv[2:] become its sys.argv[1:]), then the handshake.
_CHILD = f"""
import sys
code = sys.argv[1]
sys.argv = ["-c", *sys.argv[2:]]
exec(compile(code, "<measured work>", "exec"), {{"__name__": "__main__"}})
sys.stdout.write("\\n{DONE}\\n")
sys.stdout.flush()
sys.stdin.readline()
"""


@dataclass(frozen=True)
class MeasuredRun:
    """What the work printed, and the peak resident memory of the process that did it."""

    stdout: str
    """Everything the work wrote to stdout before the marker."""
    stderr: str
    peak_bytes: int
    """The child's own VmHWM, read from /proc while it was still alive after the work."""

    @property
    def peak_mb(self) -> float:
        """The peak in MiB (the unit `ru_maxrss / 1024` gave on Linux)."""
        return self.peak_bytes / (1024 * 1024)


def vm_hwm_bytes(pid: int) -> int:
    """VmHWM of a live process from /proc/<pid>/status, in bytes; skips the test without /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        pytest.skip("peak memory needs Linux's /proc/<pid>/status")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            assert unit == "kB", line
            return int(value) * 1024
    pytest.skip(f"/proc/{pid}/status has no VmHWM")


def run_python_measured(
    code: str,
    *args: str,
    timeout: float = 600,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> MeasuredRun:
    """Run `code` as `python -c code *args` in a child process; return its output and own peak memory.

    The child inherits this interpreter (`sys.executable`) and, unless `env` is given, the
    environment. Raises AssertionError, with the child's stderr, when the child fails or runs
    past `timeout` seconds (then it is killed) before finishing its work.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    drain.start()  # stderr is read meanwhile, so a chatty child never blocks on a full pipe
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        lines: list[str] = []
        for line in proc.stdout:
            if line.rstrip("\n") == DONE:
                break
            lines.append(line)
        else:  # end of output without the marker: the work failed, or the timer killed it
            proc.wait()
            drain.join()
            timed_out = "" if killer.is_alive() else f" (killed after {timeout:g} s)"
            raise AssertionError(
                f"the measured child exited with {proc.returncode}{timed_out} before finishing "
                f"its work; stderr:\n{''.join(errors)[-4000:]}"
            )
        peak = vm_hwm_bytes(proc.pid)  # the child is blocked on stdin: alive, its work done
        proc.stdin.write("\n")
        proc.stdin.close()
        proc.stdout.read()
        proc.wait()
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    drain.join()
    stdout = "".join(lines)
    if stdout.endswith("\n"):  # the newline the handshake put before the marker
        stdout = stdout[:-1]
    assert proc.returncode == 0, f"exit {proc.returncode} after the work; {''.join(errors)[-4000:]}"
    return MeasuredRun(stdout=stdout, stderr="".join(errors), peak_bytes=peak)
