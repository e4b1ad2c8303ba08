"""The core dependencies: the suite fails loudly when one is missing, it never skips their tests.

pocketsphinx, espeakng-loader and ai-edge-litert are install requirements of lipsync-tool (see
`dependencies` in pyproject.toml), not extras. A test run without one of them would only skip or
half-run the speech and face tests and still look green, so `conftest.py` calls
`check_core_dependencies()` when pytest starts and stops the whole run with a usage error that
names each missing package and the command that installs it.
"""

from __future__ import annotations

import importlib

import pytest

# module the code imports -> distribution name on PyPI
CORE_DEPENDENCIES: dict[str, str] = {
    "pocketsphinx": "pocketsphinx",
    "espeakng_loader": "espeakng-loader",
    "ai_edge_litert.interpreter": "ai-edge-litert",
}

INSTALL_FIX = "pip install -e '.[test]'"


def missing_core_dependencies() -> dict[str, str]:
    """Each core dependency that does not import: its PyPI name -> the import error."""
    missing = {}
    for module, distribution in CORE_DEPENDENCIES.items():
        try:
            importlib.import_module(module)
        except ImportError as error:
            missing[distribution] = f"{type(error).__name__}: {error}"
    return missing


def check_core_dependencies() -> None:
    """Raise pytest.UsageError (the run stops, exit code 4) naming every missing core dependency."""
    missing = missing_core_dependencies()
    if missing:
        found = "; ".join(f"{name} ({why})" for name, why in missing.items())
        raise pytest.UsageError(
            f"core dependencies of lipsync-tool are missing: {found}. The tests need them and are "
            f"not skipped without them. Install the project with its test extras: {INSTALL_FIX} "
            f"(or: pip install {' '.join(missing)})"
        )
