"""Contact sheets of a render's mouth: the frames at chosen sounds, side by side, as one PNG.

No package-relative imports, so a benchmark can load this module by path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

TILE = 160


def moments(phones: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(label, time) of the frames a contact sheet shows: rest, bilabials, open and rounded vowels."""
    from lipsync_tool.speech.visemes import BILABIALS, OPEN_VOWELS, ROUNDED

    picked = [("rest", 0.1)]
    for group, label, most in (
        (BILABIALS, "m/b/p", 4),
        (OPEN_VOWELS, "open", 2),
        (ROUNDED, "oo", 2),
    ):
        hits = [p for p in phones if p["phone"].lower().rstrip("012") in group][:most]
        picked += [(f"{label} {p['phone']}", (p["start"] + p["end"]) / 2) for p in hits]
    return picked


def contact_sheet(video: Path, times: list[float], path: Path, analyzer: Any) -> Path:
    """The mouth region of the video's frames at `times`, side by side, as a PNG."""
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.frames import iter_frames

    frames = list(iter_frames(find_ffmpeg(), video))
    wanted = [frames[min(int(t * 25), len(frames) - 1)] for t in times]
    points = analyzer.analyze(frames[0]).landmarks.points[:, :2]
    centre = (points[13] + points[14]) / 2
    half = max(8, int(0.6 * np.ptp(points[:, 1]) / 2))
    tiles = []
    for frame in wanted:
        x0, y0 = (np.round(centre).astype(int) - half).clip(0)
        crop = frame[y0 : y0 + 2 * half, x0 : x0 + 2 * half]
        tiles.append(np.asarray(Image.fromarray(crop).resize((TILE, TILE))))
    Image.fromarray(np.hstack(tiles)).save(path)
    return path
