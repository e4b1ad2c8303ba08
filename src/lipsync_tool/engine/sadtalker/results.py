"""Finding the MP4 upstream SadTalker produced in its timestamped result layout.

At the pinned commit `inference.py` renders into `<result_dir>/<YYYY_MM_DD_HH.MM.SS>/` and then moves the final clip
(`<pic>##<audio>_enhanced.mp4` with an enhancer, else `..._full.mp4` for full/extfull, else `<pic>##<audio>.mp4`) to
`<result_dir>/<YYYY_MM_DD_HH.MM.SS>.mp4`, printing `The generated video is named: <that path>`; the folder is deleted
unless --verbose. It exits 0 even when it produced nothing ("Can't get the coeffs of the input").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

ANNOUNCEMENT = re.compile(r"^The generated video is named: (?P<path>.+\.mp4)\s*$")
TIMESTAMP = re.compile(r"^\d{4}_\d{2}_\d{2}_\d{2}\.\d{2}\.\d{2}$")


def announced_path(stdout_lines: Iterable[str], cwd: Path) -> Path | None:
    """The path the final `The generated video is named:` line gives (relative paths resolved against cwd)."""
    found = None
    for line in stdout_lines:
        match = ANNOUNCEMENT.match(line.strip())
        if match:
            found = Path(match["path"])
    if found is None:
        return None
    return found if found.is_absolute() else cwd / found


def find_result(
    result_dir: Path, stdout_lines: Iterable[str] = (), cwd: Path | None = None
) -> Path | None:
    """The produced clip: the announced file, else `<timestamp>.mp4`, else the best clip left in a timestamp folder."""
    announced = announced_path(stdout_lines, cwd or result_dir)
    if announced is not None and _usable(announced):
        return announced
    if not result_dir.is_dir():
        return None
    top = sorted(p for p in result_dir.glob("*.mp4") if TIMESTAMP.match(p.stem) and _usable(p))
    if top:
        return top[-1]
    for folder in sorted(
        (p for p in result_dir.iterdir() if p.is_dir() and TIMESTAMP.match(p.name)), reverse=True
    ):
        clips = [p for p in folder.glob("*.mp4") if not p.name.startswith("temp_") and _usable(p)]
        for suffix in ("_enhanced.mp4", "_full.mp4", ".mp4"):
            chosen = [p for p in clips if p.name.endswith(suffix)]
            if chosen:
                return sorted(chosen)[-1]
    return None


def _usable(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
