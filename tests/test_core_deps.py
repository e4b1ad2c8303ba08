"""A missing core dependency stops the test run with a usage error; it is never skipped."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .core_deps import CORE_DEPENDENCIES, check_core_dependencies, missing_core_dependencies

ROOT = Path(__file__).resolve().parent.parent


def test_the_core_dependencies_are_installed_here() -> None:
    assert missing_core_dependencies() == {}
    check_core_dependencies()


@pytest.mark.parametrize("module", list(CORE_DEPENDENCIES))
def test_a_missing_one_is_named_with_its_install_fix(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes its import fail
    distribution = CORE_DEPENDENCIES[module]
    assert list(missing_core_dependencies()) == [distribution]
    with pytest.raises(pytest.UsageError) as caught:
        check_core_dependencies()
    message = str(caught.value)
    assert distribution in message and "pip install -e '.[test]'" in message
    assert f"pip install {distribution}" in message


def test_pytest_stops_with_a_usage_error_before_running_anything() -> None:
    """A real pytest run in a process where pocketsphinx cannot be imported: exit code 4, one clear line."""
    blocked = (
        "import sys, pytest; sys.modules['pocketsphinx'] = None; "
        "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/test_core_deps.py']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "core dependencies of lipsync-tool are missing: pocketsphinx" in output, output
    assert not re.search(r"\d+ (passed|skipped|deselected)", output), output
