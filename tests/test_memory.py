"""tests/memory.py: a child's peak memory is its own, read from /proc before it exits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .memory import run_python_measured, vm_hwm_bytes

MB = 1024 * 1024


def test_the_peak_is_the_childs_own_not_the_parents() -> None:
    """pytest holds 400 MB; a child that allocates nothing still peaks at a few tens of MB."""
    ballast = np.ones(400 * MB, np.uint8)  # touched: resident in this process
    own = vm_hwm_bytes(__import__("os").getpid())
    run = run_python_measured(
        "import json, resource; print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"
    )
    maxrss_mb = json.loads(run.stdout) / 1024
    print(
        f"parent VmHWM {own / MB:.0f} MB; idle child: VmHWM {run.peak_mb:.1f} MB, "
        f"its own ru_maxrss {maxrss_mb:.0f} MB"
    )
    assert ballast.sum() == 400 * MB and own >= 400 * MB
    assert run.peak_mb < 60


def test_the_peak_counts_the_work() -> None:
    run = run_python_measured(
        "import sys, numpy; a = numpy.ones(int(sys.argv[1]) * 2**20, numpy.uint8); print(a.sum())",
        "300",
    )
    print(f"child holding 300 MB: VmHWM {run.peak_mb:.0f} MB")
    assert run.stdout == f"{300 * MB}\n"
    assert 300 <= run.peak_mb < 300 + 80


def test_output_passes_through_and_a_chatty_stderr_does_not_block() -> None:
    code = "import sys; sys.stderr.write('x' * 2**20); print(' '.join(sys.argv[1:]))"
    run = run_python_measured(code, "a b", "c")
    assert run.stdout == "a b c\n" and len(run.stderr) == 2**20


def test_a_failing_child_is_an_error_with_its_stderr() -> None:
    with pytest.raises(AssertionError, match="(?s)exited with 1 before finishing.*boom"):
        run_python_measured("import sys; sys.exit('boom')")


def test_a_child_past_its_timeout_is_killed() -> None:
    with pytest.raises(AssertionError, match="killed after 1 s"):
        run_python_measured("import time; time.sleep(60)", timeout=1)
