"""deps.ensure_requirements for real: pip installs a made-up package from a local wheel, offline."""

from __future__ import annotations

import base64
import hashlib
import importlib
import logging
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lipsync_tool.deps import Requirement, ensure_requirements, missing_requirements, pip_command
from lipsync_tool.errors import EngineUnavailableError

NAME = "lipsync_fake_dep"
REQUIREMENT = Requirement(NAME, "lipsync-fake-dep>=1.0")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(folder: Path, version: str = "1.0") -> Path:
    """A pure-Python wheel of `lipsync-fake-dep` whose module says its version."""
    dist_info = f"lipsync_fake_dep-{version}.dist-info"
    files = {
        f"{NAME}/__init__.py": f'VERSION = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: lipsync-fake-dep\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: lipsync-tool-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"lipsync_fake_dep-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture()
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """pip pointed at a folder with one wheel (no index), installing into a target folder on sys.path."""
    wheels, target = tmp_path / "wheels", tmp_path / "target"
    wheels.mkdir()
    target.mkdir()
    build_wheel(wheels)
    for key, value in {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_TARGET": str(target),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(target))
    yield wheels, target
    sys.modules.pop(NAME, None)
    importlib.invalidate_caches()


def test_present_modules_are_not_missing() -> None:
    assert missing_requirements([Requirement("json", "json"), REQUIREMENT]) == [REQUIREMENT]
    assert missing_requirements([Requirement("lipsync_no_parent.child", "x")]) != []


def test_missing_without_install_names_the_fix() -> None:
    with pytest.raises(EngineUnavailableError) as caught:
        ensure_requirements(
            [REQUIREMENT, Requirement("json", "json")], install=False, engine="wav2lip"
        )
    message = str(caught.value)
    assert "lipsync-fake-dep>=1.0" in message and "--install-deps" in message
    assert (
        'pip install "lipsync-tool[wav2lip]"' in message
        and sys.prefix in message
        and "json" not in message
    )


def test_install_deps_installs_once_then_does_nothing(
    local_index: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    wheels, target = local_index
    with caplog.at_level(logging.WARNING, logger="lipsync_tool.deps"):
        ensure_requirements([REQUIREMENT], install=True, engine="wav2lip")
    assert (target / NAME / "__init__.py").read_text() == 'VERSION = "1.0"\n'
    assert importlib.import_module(NAME).VERSION == "1.0"
    said = caplog.records[0].getMessage()
    assert "lipsync-fake-dep>=1.0" in said and sys.prefix in said and "pip install" in said
    shutil.rmtree(
        wheels
    )  # a second pip run would now fail: the second call must not run pip at all
    caplog.clear()
    ensure_requirements([REQUIREMENT], install=True, engine="wav2lip")
    assert caplog.records == []


def test_pip_failure_carries_pips_last_lines(local_index: tuple[Path, Path]) -> None:
    wanted = Requirement(NAME, "lipsync-fake-dep>=2.0")  # only 1.0 is in the local folder
    with pytest.raises(EngineUnavailableError) as caught:
        ensure_requirements([wanted], install=True, engine="wav2lip")
    message = str(caught.value)
    assert "pip exit status" in message and "lipsync-fake-dep>=2.0" in message
    assert "No matching distribution" in message or "Could not find a version" in message
    assert "\n" not in message


def test_pip_runs_in_this_interpreter() -> None:
    assert pip_command([REQUIREMENT])[:4] == [sys.executable, "-m", "pip", "install"]
