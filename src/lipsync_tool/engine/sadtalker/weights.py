"""The SadTalker model files a job needs, fetched through the shared store and made visible where upstream looks.

Upstream reads `--checkpoint_dir` (we pass `cache_dir/sadtalker/checkpoints`, where the store keeps them) and, with
paths relative to its working directory, `gfpgan/weights/` (facexlib's detector and landmarks always; GFPGAN and
the face parser with --enhancer gfpgan). Those are linked into `<checkout>/gfpgan/weights/` one file at a
time: a symbolic link, else a hard link, else a copy. The links are checked (and remade if wrong) on every run,
so a re-cloned checkout gets them again.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from ...errors import InputError, ResourceError
from ...resources.table import Resource
from .options import SadTalkerOptions

log = logging.getLogger(__name__)

FACEXLIB = ("detection_Resnet50_Final.pth", "alignment_WFLW_4HG.pth")
ENHANCER_FILES = {
    "gfpgan": ("GFPGANv1.4.pth", "parsing_parsenet.pth"),
}
SIZE_WHEN_UNKNOWN = 400_000_000  # bytes assumed for a file whose size the table does not know


def needed_names(options: SadTalkerOptions) -> tuple[str, ...]:
    """Names (in the resource table) of the files this job needs, and only those."""
    mapping = (
        "mapping_00109-model.pth.tar"
        if "full" in options.upstream_preprocess
        else "mapping_00229-model.pth.tar"
    )
    names = [f"SadTalker_V0.0.2_{options.resolution}.safetensors", mapping, *FACEXLIB]
    if options.enhancer is not None:
        names += ENHANCER_FILES[options.enhancer]
    return tuple(names)


def needed_resources(options: SadTalkerOptions, table: Iterable[Resource]) -> tuple[Resource, ...]:
    """The table entries of `needed_names(options)`."""
    if options.enhancer == "RestoreFormer":
        raise InputError(
            "--enhancer RestoreFormer is not supported by the sadtalker engine yet: RestoreFormer.pth has no "
            "published size or sha256 to verify a download against; use --enhancer gfpgan"
        )
    by_name = {entry.name: entry for entry in table}
    missing = [name for name in needed_names(options) if name not in by_name]
    if missing:
        raise InputError(
            f"this version has no download for {', '.join(missing)}; choose another --enhancer"
        )
    return tuple(by_name[name] for name in needed_names(options))


def checkpoint_dir(cache_dir: Path) -> Path:
    """What upstream's --checkpoint_dir gets: the store's folder of the SadTalker checkpoints."""
    return Path(cache_dir) / "sadtalker" / "checkpoints"


def check_free_space(
    resources: Iterable[Resource], store_path: Mapping[str, Path], folder: Path
) -> None:
    """ResourceError naming how much is needed and where, when the files still to fetch do not fit (no hashing)."""
    needed = 0
    for entry in resources:
        path = store_path[entry.name]
        if not path.is_file() or (entry.size is not None and path.stat().st_size != entry.size):
            needed += entry.size or SIZE_WHEN_UNKNOWN
    if not needed:
        return
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ResourceError(
            f"disk full: the SadTalker model files still to fetch need {needed / 1e9:.2f} GB in "
            f"{folder}, only {free / 1e9:.2f} GB are free; free some space or use --cache-dir"
        )


def link_weights(checkout: Path, files: Mapping[str, Path]) -> list[Path]:
    """Make each `gfpgan/weights/...` file visible inside the checkout; returns the links."""
    target_dir = checkout / "gfpgan" / "weights"
    target_dir.mkdir(parents=True, exist_ok=True)
    links = []
    for name, source in files.items():
        link = target_dir / name
        links.append(link)
        if _same_file(link, source):
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        _link(source, link)
    return links


def _same_file(link: Path, source: Path) -> bool:
    try:
        return link.exists() and os.path.samefile(link, source)
    except OSError:
        return False


def _link(source: Path, link: Path) -> None:
    try:
        link.symlink_to(source)
        return
    except FileExistsError:
        if _same_file(link, source):  # a concurrent run made the same link
            return
        raise
    except OSError:
        pass
    try:
        os.link(source, link)
    except OSError:
        log.info("cannot link %s; copying it into %s", source, link)
        shutil.copyfile(source, link)
