"""Resources shipped inside installed Python packages: found without importing the package, copied into the cache."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

from .download import Expected, check_file
from .table import Resource

log = logging.getLogger(__name__)


def package_dir(package: str) -> Path | None:
    """The folder of an installed top-level package, found by its import spec (its code is not run)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_file(resource: Resource) -> Path | None:
    """Where an installed package holds `resource`, or None (no package named, not installed, file absent)."""
    if resource.package is None:
        return None
    folder = package_dir(resource.package[0])
    if folder is None:
        return None
    path = folder / resource.package[1]
    return path if path.is_file() else None


def copy_from_package(resource: Resource, target: Path) -> Path | None:
    """Put the packaged copy of `resource` at `target` (a hard link where possible), verified by size and
    sha256; None, leaving nothing behind, when there is no packaged copy or it is not the expected file."""
    source = packaged_file(resource)
    if source is None or resource.package is None:
        return None
    partial = target.with_name(target.name + f".{os.getpid()}.package")
    partial.unlink(missing_ok=True)
    try:
        os.link(source, partial)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, partial)
    problem = check_file(partial, Expected(resource.size, resource.sha256))
    if problem is not None:
        partial.unlink()
        log.warning("%s in the package %s is unusable (%s)", source, resource.package, problem)
        return None
    os.replace(partial, target)
    log.debug("%s taken from the installed package %s", resource.name, resource.package[0])
    return target
