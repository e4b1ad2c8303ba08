"""Which Wav2Lip checkpoint file a render uses: a verified one from the cache, or the user's own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError
from ...resources.download import Progress
from ...resources.store import ResourceStore
from ...resources.table import Resource, resource

NAMED_CHECKPOINTS = {"gan": "wav2lip_gan.pth", "base": "wav2lip.pth"}
"""--wav2lip-checkpoint names → resource names in resources/table.py."""


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint file to load, and whether it may be fully unpickled."""

    path: Path
    trusted: bool
    """True when its sha256 matched a known file in resources/table.py, or the user passed the path explicitly."""
    label: str
    """"wav2lip_gan.pth", "wav2lip.pth", or the user's path."""


def checkpoint_resource(choice: str) -> Resource | None:
    """The table entry of a named choice ("gan", "base"); None for a path."""
    name = NAMED_CHECKPOINTS.get(choice.strip().lower())
    return resource(name) if name else None


def resolve_checkpoint(
    choice: str, cache_dir: Path, *, offline: bool | None = None, progress: Progress | None = None
) -> Checkpoint:
    """choice: "gan" (default), "base", or a path to a .pth/.pt file.

    Named ones come through ResourceStore.ensure (verified by size and sha256, downloaded when
    missing or broken; offline → ResourceError naming the file, its URL and where to put it).
    An explicit path is trusted as given; InputError when it is not a file.
    """
    entry = checkpoint_resource(choice)
    if entry is not None:
        paths = ResourceStore(cache_dir, offline=offline, progress=progress).ensure([entry])
        return Checkpoint(path=paths[entry.name], trusted=True, label=entry.name)
    path = Path(choice).expanduser()
    if not path.exists():
        raise InputError(
            f"--wav2lip-checkpoint {choice}: no such file; give gan, base, or the path of a wav2lip .pth/.pt file"
        )
    if not path.is_file():
        raise InputError(
            f"--wav2lip-checkpoint {choice} is not a file; give the path of a wav2lip .pth/.pt file"
        )
    return Checkpoint(path=path.absolute(), trusted=True, label=str(path))


__all__ = ["NAMED_CHECKPOINTS", "Checkpoint", "checkpoint_resource", "resolve_checkpoint"]
