"""Files that upstream ships only inside a zip archive: the archive is downloaded (verified,
resumable) once into the cache, each member is extracted and verified, and the archive goes when
every file taken from it is in place."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlparse

from ..errors import ResourceError
from .download import Expected, Progress, check_file, download
from .table import Resource

ARCHIVES = ".archives"
"""The folder (in the engine's cache folder) that holds archives while members are taken out."""


def archive_path(resource: Resource, engine_dir: Path) -> Path:
    """Where the archive that holds `resource` is kept while its members are extracted."""
    return engine_dir / ARCHIVES / Path(urlparse(resource.url).path).name


def fetch_member(
    resource: Resource, target: Path, engine_dir: Path, progress: Progress | None = None
) -> Path:
    """Download `resource`'s archive unless it is here, extract its member to `target` and
    verify it; ResourceError when the archive lacks the member or it is not the expected file."""
    from filelock import FileLock

    if resource.member is None:
        raise ValueError(f"{resource.name} is not inside an archive")
    archive = archive_path(resource, engine_dir)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(archive) + ".lock"):  # runs taking other members share the download
        if not archive.is_file():
            download(resource.url, archive, Expected(None, resource.archive_sha256), progress)
        return _extract(resource, archive, target)


def _extract(resource: Resource, archive: Path, target: Path) -> Path:
    assert resource.member is not None
    partial = target.with_name(target.name + f".{os.getpid()}.unzip")
    try:
        with zipfile.ZipFile(archive) as bundle, bundle.open(resource.member) as source:
            with open(partial, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    except KeyError:
        partial.unlink(missing_ok=True)
        raise ResourceError(
            f"{resource.url} has no {resource.member}; the release changed: report it"
        ) from None
    except zipfile.BadZipFile as exc:
        partial.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
        raise ResourceError(f"{archive} is not a readable zip ({exc}); run again") from None
    problem = check_file(partial, Expected(resource.size, resource.sha256))
    if problem is not None:
        partial.unlink()
        raise ResourceError(
            f"{resource.member} in {resource.url} is not the expected file: {problem}"
        )
    os.replace(partial, target)
    return target


def drop_archive_when_done(
    resource: Resource,
    engine_dir: Path,
    known: Iterable[Resource],
    usable: Callable[[Resource], bool],
) -> None:
    """Remove `resource`'s archive once every file of `known` taken from it is `usable`."""
    archive = archive_path(resource, engine_dir)
    siblings = [r for r in known if r.url == resource.url and r.member is not None]
    if archive.exists() and all(usable(r) for r in siblings):
        archive.unlink()
        Path(str(archive) + ".lock").unlink(missing_ok=True)
        try:
            archive.parent.rmdir()
        except OSError:
            pass
