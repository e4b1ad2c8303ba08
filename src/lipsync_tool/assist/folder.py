"""The working folder as the assistant sees it: the portraits and recordings it holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

from ..errors import InputError
from ..media.audio import AUDIO_SUFFIXES
from ..media.image import PORTRAIT_SUFFIXES

MAX_DEPTH = 2
"""Folders below the working folder that are listed (team/bob.jpg: depth 1)."""
MAX_FILES = 200
"""Files listed at most (a prompt names the rest)."""
MAX_NAME = 255
"""Characters of one name given by a client."""


@dataclass(frozen=True)
class Folder:
    """Relative POSIX names of the folder's portraits and recordings."""

    root: Path
    portraits: tuple[str, ...]
    recordings: tuple[str, ...]

    @classmethod
    def scan(cls, root: Path) -> Folder:
        """The portraits and recordings under `root` (hidden entries and deep folders skipped)."""
        root = root.resolve()
        portraits, recordings = [], []
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if any(part.startswith(".") for part in relative.parts) or not _plain(relative):
                continue
            if len(relative.parts) > MAX_DEPTH + 1 or not path.is_file():
                continue
            suffix = path.suffix.lower()
            if suffix in PORTRAIT_SUFFIXES:
                portraits.append(relative.as_posix())
            elif suffix in AUDIO_SUFFIXES:
                recordings.append(relative.as_posix())
            if len(portraits) + len(recordings) >= MAX_FILES:
                break
        return cls(root, tuple(portraits), tuple(recordings))

    @classmethod
    def named(cls, root: Path, portraits: Iterable[str], recordings: Iterable[str]) -> Folder:
        """A folder of names only, such as a web page's attached files: each must be a plain file
        name (no folder, quotes or backslashes), and nothing under `root` is ever read."""
        portraits, recordings = sorted(set(portraits)), sorted(set(recordings))
        for name in (*portraits, *recordings):
            if not file_name(name):
                shown = repr(name[:80])
                raise InputError(
                    f"{shown} is not a file name: give the name alone, without folders, quotes "
                    "or backslashes"
                )
        if set(portraits) & set(recordings):
            both = sorted(set(portraits) & set(recordings))[0]
            raise InputError(f"{both!r} is given both as a portrait and as a recording")
        if len(portraits) + len(recordings) > MAX_FILES:
            raise InputError(f"more than {MAX_FILES} files; name at most {MAX_FILES}")
        return cls(root, tuple(portraits), tuple(recordings))

    @property
    def files(self) -> tuple[str, ...]:
        return self.portraits + self.recordings

    def find(self, name: str) -> str | None:
        """The folder's own name for `name` (matched exactly, else ignoring case), if it has it."""
        if name in self.files:
            return name
        matches = [f for f in self.files if f.lower() == name.lower()]
        return matches[0] if len(matches) == 1 else None

    def path(self, name: str) -> Path:
        """The file's path (`name` as `find` returned it)."""
        return self.root / name


def file_name(name: str) -> bool:
    """A name of one file, not hidden, with nothing that could lead out of a folder (nor read as
    a path that does: `mentions.outside`)."""
    return (
        0 < len(name) <= MAX_NAME
        and not any(c in name for c in "/:")
        and not name.startswith((".", "~"))
        and _plain(PurePosixPath(name))
    )


def _plain(relative: PurePath) -> bool:
    """A name a prompt can carry and a grammar can hold: printable, no quotes or backslashes."""
    name = relative.as_posix()
    return name.isprintable() and not any(c in name for c in "\"'\\`")
