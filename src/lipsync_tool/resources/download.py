"""One verified, resumable download: streamed to a partial file beside the target, hashed, renamed into place."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import ResourceError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
TIMEOUT = 30.0
Progress = Callable[[str, int, "int | None"], None]


class NetworkError(ResourceError):
    """The network could not be reached (as opposed to a server that answered wrongly)."""


@dataclass(frozen=True)
class Expected:
    """What a finished download must be; None where unknown."""

    size: int | None = None
    sha256: str | None = None


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, expected: Expected) -> str | None:
    """None if `path` is what is expected, else the reason it is not."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        return f"{size:,} bytes instead of {expected.size:,} (truncated or a different file)"
    if expected.sha256 is not None and file_sha256(path) != expected.sha256:
        return "sha256 does not match (corrupt or a different file)"
    return None


def _open(url: str, offset: int) -> urllib.response.addinfourl:
    request = urllib.request.Request(url, headers={"User-Agent": "lipsync-tool"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310 - URLs come from our own table
    except urllib.error.HTTPError as exc:
        raise ResourceError(f"{url} answered HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise NetworkError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from exc


def download(
    url: str, target: Path, expected: Expected = Expected(), progress: Progress | None = None
) -> Path:
    """Fetch `url` into `target`, resuming a partial file left by an interrupted run; verify; rename into place."""
    partial = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    offset = partial.stat().st_size if partial.exists() else 0
    if expected.size is not None and offset > expected.size:
        partial.unlink()
        offset = 0
    response = _open(url, offset)
    with response:
        if offset and response.status != 206:  # the server ignored the Range header: start again
            log.info("%s does not resume downloads; starting over", url)
            offset = 0
        length = response.headers.get("Content-Length")
        total = (offset + int(length)) if length is not None else expected.size
        log.info(
            "downloading %s (%s) to %s%s",
            target.name,
            _size(total),
            target,
            f", resuming at {_size(offset)}" if offset else "",
        )
        _stream(response, partial, offset, total, target.name, progress)
    problem = check_file(partial, expected)
    if problem:
        partial.unlink(missing_ok=True)
        raise ResourceError(
            f"the download of {target.name} from {url} is not the expected file: {problem}"
        )
    os.replace(partial, target)
    return target


def _stream(
    response: object,
    partial: Path,
    offset: int,
    total: int | None,
    name: str,
    progress: Progress | None,
) -> None:
    done = offset
    with open(partial, "ab" if offset else "wb") as handle:
        while True:
            try:
                block = response.read(CHUNK)  # type: ignore[attr-defined]
            except (OSError, TimeoutError) as exc:
                raise NetworkError(
                    f"the download of {name} broke off at {_size(done)} ({exc}); run again to resume"
                ) from exc
            if not block:
                break
            _write(handle, block, partial, total)
            done += len(block)
            if progress is not None:
                progress(f"download {name}", done, total)
    if total is not None and done < total:
        raise NetworkError(
            f"the download of {name} broke off at {_size(done)} of {_size(total)}; run again to resume"
        )


def _write(handle: BinaryIO, block: bytes, partial: Path, total: int | None) -> None:
    """Write one block; a full disk is the user's to fix, not a network failure to retry."""
    try:
        handle.write(block)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            need = f"{_size(total)} in all" if total is not None else "more space"
            raise ResourceError(
                f"the disk holding {partial.parent} is full ({need} needed for {partial.name[:-5]}); free space there, "
                "or point LIPSYNC_CACHE_DIR / --cache-dir at a disk with room, and run again to resume"
            ) from exc
        raise ResourceError(f"cannot write {partial}: {exc.strerror or exc}") from exc


def _size(count: int | None) -> str:
    return "unknown size" if count is None else f"{count / 1e6:.1f} MB"
