"""The cache of resources: verified on every use, fetched when missing or broken, locked against concurrent runs."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import ResourceError
from .download import Expected, NetworkError, Progress, check_file, download
from .table import Resource

log = logging.getLogger(__name__)

OFFLINE_ENV = "LIPSYNC_OFFLINE"
LOCK_TIMEOUT = 3600.0  # s: a concurrent run may be downloading a large file


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

    def __init__(self, cache_dir: Path, *, offline: bool | None = None, progress: Progress | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.offline = offline_from_environment() if offline is None else offline
        self.progress = progress

    def path_of(self, resource: Resource) -> Path:
        return self.cache_dir / resource.engine / resource.path

    def status(self, resource: Resource) -> ResourceStatus:
        """Checks size and sha256 of the cached file (on every call: a truncated file is never trusted)."""
        path = self.path_of(resource)
        return ResourceStatus(resource, path, check_file(path, Expected(resource.size, resource.sha256)))

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
            if self.offline:
                missing.append(state)
                continue
            try:
                paths[resource.name] = self._fetch(resource)
            except NetworkError:
                missing.append(self.status(resource))
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
                    log.warning("%s in the cache is unusable (%s); fetching it again", resource.name, state.problem)
                    target.unlink()
                return download(resource.url, target, Expected(resource.size, resource.sha256), self.progress)
        except Timeout as exc:
            raise ResourceError(f"another lipsync-tool run has held the lock on {target} for an hour; is it stuck?") from exc

    def _missing_message(self, missing: list[ResourceStatus]) -> str:
        why = "offline mode (LIPSYNC_OFFLINE is set)" if self.offline else "the network cannot be reached"
        items = "; ".join(f"{s.resource.name} ({s.problem}): download {s.resource.url} and put it at {s.path}" for s in missing)
        return f"{len(missing)} model file(s) missing and {why}: {items}"
