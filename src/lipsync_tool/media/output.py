"""The output file: checked before any work, written beside itself, moved into place atomically."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, MediaError

log = logging.getLogger(__name__)

CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


@dataclass(frozen=True)
class OutputTarget:
    """Where the finished video goes, and the ffmpeg muxer its extension selects."""

    path: Path
    overwrite: bool

    @property
    def container(self) -> str:
        return CONTAINERS[self.path.suffix.lower()]

    def partial_path(self) -> Path:
        """A unique hidden file in the same directory, so the final move is an atomic rename."""
        token = secrets.token_hex(4)
        return self.path.with_name(f".{self.path.stem}.{token}.partial{self.path.suffix}")

    def commit(self, partial: Path) -> None:
        """Move the finished `partial` file into place; never clobber unless `overwrite`."""
        try:
            if self.overwrite:
                os.replace(partial, self.path)
            else:
                self._move_without_clobbering(partial)
        except OSError as exc:
            raise MediaError(f"cannot move the finished video to {self.path}: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)

    def _move_without_clobbering(self, partial: Path) -> None:
        exists = InputError(f"OUTPUT {self.path} already exists; pass --overwrite to replace it")
        try:
            os.link(partial, self.path)  # atomic, and fails if the path appeared meanwhile
        except FileExistsError as exc:
            raise exists from exc
        except OSError:  # a file system without hard links
            if self.path.exists():
                raise exists from None
            os.replace(partial, self.path)


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.absolute().resolve()


def resolve_output(output: Path, inputs: list[Path], *, overwrite: bool) -> OutputTarget:
    """Validate OUTPUT against the rules: known extension, existing parent, not an input, no clobbering."""
    path = Path(output).expanduser()
    if path.is_dir():
        raise InputError(
            f"OUTPUT {path.absolute()} is a directory; give a file name such as {path.absolute() / 'out.mp4'}"
        )
    if path.suffix == "":
        path = path.with_suffix(".mp4")
        log.debug("OUTPUT has no extension: writing %s", path)
    if path.suffix.lower() not in CONTAINERS:
        allowed = ", ".join(CONTAINERS)
        raise InputError(
            f"OUTPUT {path} has an unsupported extension '{path.suffix}'; use one of {allowed}"
        )
    path = path.absolute()
    if not path.parent.is_dir():
        raise InputError(f"the folder of OUTPUT does not exist: {path.parent}; create it first")
    for source in inputs:
        if _same_file(path, source):
            raise InputError(f"OUTPUT {path} is one of the input files; choose another output name")
    if path.exists() and not overwrite:
        raise InputError(f"OUTPUT {path} already exists; pass --overwrite to replace it")
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"cannot write to the folder of OUTPUT: {path.parent}")
    return OutputTarget(path, overwrite)
