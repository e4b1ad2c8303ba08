"""The working folder as the assistant sees it: the portraits and recordings it holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..media.audio import AUDIO_SUFFIXES
from ..media.image import PORTRAIT_SUFFIXES

MAX_DEPTH = 2
"""Folders below the working folder that are listed (team/bob.jpg: depth 1)."""
MAX_FILES = 200
"""Files listed at most (a prompt names the rest)."""


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


def _plain(relative: Path) -> bool:
    """A name a prompt can carry and a grammar can hold: printable, no quotes or backslashes."""
    name = relative.as_posix()
    return name.isprintable() and not any(c in name for c in "\"'\\`")
