"""Mouth cues in Rhubarb Lip Sync's format (shapes A–H and X with start and end times), as JSON or TSV."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .coarticulation import ANTICIPATION, PoseTrack, TimedPhone
from .visemes import VISEME_POSES, Viseme, rhubarb_shape_of

MIN_CUE = 0.04  # s: shorter cues merge into their neighbour, as in Rhubarb's output
VISEME_SHAPES = {
    Viseme.REST: "X",
    Viseme.MBP: "A",
    Viseme.WIDE: "B",
    Viseme.MID: "C",
    Viseme.OPEN: "D",
    Viseme.ROUND: "F",
    Viseme.FV: "G",
    Viseme.THL: "H",
}
CUE_SUFFIXES = (".json", ".tsv")


@dataclass(frozen=True)
class MouthCue:
    """One mouth shape held from `start` to `end` seconds."""

    start: float
    end: float
    value: str


def _join_runs(cues: list[MouthCue]) -> list[MouthCue]:
    runs: list[MouthCue] = []
    for cue in cues:
        if runs and runs[-1].value == cue.value:
            runs[-1] = MouthCue(runs[-1].start, cue.end, cue.value)
        else:
            runs.append(cue)
    return runs


def _merge(cues: list[MouthCue]) -> list[MouthCue]:
    """Join equal neighbours, then fold cues shorter than MIN_CUE into the cue before them."""
    kept: list[MouthCue] = []
    for cue in _join_runs(cues):
        if kept and cue.end - cue.start < MIN_CUE:
            kept[-1] = MouthCue(kept[-1].start, cue.end, kept[-1].value)
        else:
            kept.append(cue)
    return _join_runs(kept)


def cues_from_phones(phones: Sequence[TimedPhone], duration: float) -> list[MouthCue]:
    """Cues from timed phones, leading the sound by the same anticipation the renderer uses."""
    cues = []
    for phone in phones:
        start = max(0.0, phone.start - ANTICIPATION)
        end = min(duration, max(start, phone.end - ANTICIPATION))
        if end > start:
            cues.append(MouthCue(start, end, rhubarb_shape_of(phone.phone)))
    if cues and cues[-1].end < duration:
        cues.append(MouthCue(cues[-1].end, duration, "X"))
    return _merge(cues)


def cues_from_poses(track: PoseTrack) -> list[MouthCue]:
    """Cues from per-frame poses (the acoustic path): each frame takes the shape of the nearest viseme pose."""
    visemes = list(VISEME_POSES)
    targets = np.stack([VISEME_POSES[v].as_array() for v in visemes])
    nearest = np.argmin(((track.poses[:, None, :] - targets[None, :, :]) ** 2).sum(-1), axis=1)
    step = 1.0 / track.fps
    cues = [
        MouthCue(i * step, (i + 1) * step, VISEME_SHAPES[visemes[k]]) for i, k in enumerate(nearest)
    ]
    return _merge(cues)


def cues_text(cues: Sequence[MouthCue], *, duration: float, sound_file: str, suffix: str) -> str:
    """Rhubarb-style cues: `.json` (metadata + mouthCues) or `.tsv` (start, shape; a final X marks the end)."""
    if suffix.lower() not in CUE_SUFFIXES:
        raise InputError(f"mouth cues are written as .json or .tsv, not {suffix or 'no suffix'}")
    if suffix.lower() == ".json":
        document = {
            "metadata": {"soundFile": sound_file, "duration": round(duration, 2)},
            "mouthCues": [
                {"start": round(c.start, 2), "end": round(c.end, 2), "value": c.value} for c in cues
            ],
        }
        return json.dumps(document, indent=2) + "\n"
    lines = [f"{c.start:.2f}\t{c.value}" for c in cues]
    lines.append(f"{(cues[-1].end if cues else duration):.2f}\tX")
    return "\n".join(lines) + "\n"


def write_cues(path: Path, cues: Sequence[MouthCue], *, duration: float, sound_file: str) -> None:
    """Write the cues to `path` (format by its suffix) through a temporary name: whole or absent."""
    text = cues_text(cues, duration=duration, sound_file=sound_file, suffix=path.suffix)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
