"""Optional Python dependencies of the engines: find what is missing, and install it when the user allows."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import EngineUnavailableError

log = logging.getLogger(__name__)

_STDERR_LINES = 8  # how many of pip's last stderr lines an error message carries


@dataclass(frozen=True)
class Requirement:
    """A module an engine imports, and the pip requirement that provides it."""

    module: str
    """Import name, e.g. "torch"."""
    spec: str
    """pip requirement, e.g. "torch>=2.1"."""


def missing_requirements(requirements: Sequence[Requirement]) -> list[Requirement]:
    """The requirements whose module cannot be found (checked with importlib.util.find_spec, nothing imported)."""
    missing: list[Requirement] = []
    for requirement in requirements:
        try:
            found = importlib.util.find_spec(requirement.module) is not None
        except (ImportError, ValueError):  # a parent package missing, or a broken module entry
            found = False
        if not found:
            missing.append(requirement)
    return missing


def pip_command(requirements: Sequence[Requirement]) -> list[str]:
    """The pip command that installs `requirements` into the running interpreter's environment."""
    return [sys.executable, "-m", "pip", "install", *(r.spec for r in requirements)]


def ensure_requirements(requirements: Sequence[Requirement], *, install: bool, engine: str) -> None:
    """Nothing when all are importable; else install them (install=True) or raise EngineUnavailableError.

    With install=True it logs (WARNING) what it installs and into which environment, runs pip in
    the running interpreter (pip honours PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX...), and
    checks afterwards that the modules are found. A pip failure → EngineUnavailableError carrying
    pip's last stderr lines.
    """
    missing = missing_requirements(requirements)
    if not missing:
        return
    specs = " ".join(r.spec for r in missing)
    if not install:
        raise EngineUnavailableError(
            f"the {engine} engine needs {specs}, which is not installed; rerun with --install-deps to install it "
            f'into this environment ({sys.prefix}), or run: pip install "lipsync-tool[{engine}]"'
        )
    command = pip_command(missing)
    log.warning(
        "the %s engine needs %s: installing it into %s (%s)",
        engine,
        specs,
        sys.prefix,
        " ".join(command),
    )
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise EngineUnavailableError(
            f"could not run pip to install {specs} ({exc}); install it by hand: "
            f'pip install "lipsync-tool[{engine}]"'
        ) from exc
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-_STDERR_LINES:])
        raise EngineUnavailableError(
            f"installing {specs} for the {engine} engine failed (pip exit status {result.returncode}): {tail}; "
            f'install it by hand: pip install "lipsync-tool[{engine}]"'
        )
    importlib.invalidate_caches()
    still = missing_requirements(missing)
    if still:
        raise EngineUnavailableError(
            f"pip reported success but {' '.join(r.module for r in still)} still cannot be imported by {sys.executable}; "
            f'install it by hand: pip install "lipsync-tool[{engine}]"'
        )
    log.warning("installed %s into %s", specs, sys.prefix)


__all__ = ["Requirement", "ensure_requirements", "missing_requirements", "pip_command"]
