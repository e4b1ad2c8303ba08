"""Phones → a compact viseme set, the mouth pose of each viseme, and Rhubarb Lip Sync's mouth shapes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

import numpy as np


class Viseme(str, Enum):
    """Mouth shapes that look different; phones within one look alike on the lips."""

    REST = "rest"
    MBP = "mbp"  # lips pressed together
    FV = "fv"  # lower lip to upper teeth
    THL = "thl"  # tongue tip visible or raised
    OPEN = "open"  # open vowels: aa, ae, ah
    MID = "mid"  # mid vowels and back consonants
    WIDE = "wide"  # spread lips, teeth together: ee, s, t
    ROUND = "round"  # rounded, protruded: oo, w, ow


@dataclass(frozen=True)
class MouthPose:
    """Articulation targets, each in [0, 1] (width in [-1, 1])."""

    open: float = 0.0
    """Jaw and lip opening."""
    width: float = 0.0
    """Lip-corner stretch: +1 spread wide, -1 rounded and narrow."""
    close: float = 0.0
    """Lips pressed together, whatever the opening of the neighbours."""
    tuck: float = 0.0
    """Lower lip raised under the upper teeth (f, v)."""
    tongue: float = 0.0
    """Tongue tip showing (th, l)."""

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float32)


POSE_PARAMETERS = tuple(f.name for f in fields(MouthPose))

VISEME_POSES: dict[Viseme, MouthPose] = {
    Viseme.REST: MouthPose(),
    Viseme.MBP: MouthPose(close=1.0),
    Viseme.FV: MouthPose(open=0.12, width=0.1, tuck=1.0),
    Viseme.THL: MouthPose(open=0.40, width=0.1, tongue=1.0),
    Viseme.OPEN: MouthPose(open=1.0, width=0.15),
    Viseme.MID: MouthPose(open=0.55, width=0.1),
    Viseme.WIDE: MouthPose(open=0.22, width=0.8),
    Viseme.ROUND: MouthPose(open=0.35, width=-1.0),
}

# ARPAbet phone → (viseme, Rhubarb shape). Rhubarb: A closed, B clenched/slightly open,
# C open, D wide open, E slightly rounded, F puckered, G f/v, H l/tongue, X idle.
PHONES: dict[str, tuple[Viseme, str]] = {
    "sil": (Viseme.REST, "X"),
    "m": (Viseme.MBP, "A"),
    "b": (Viseme.MBP, "A"),
    "p": (Viseme.MBP, "A"),
    "f": (Viseme.FV, "G"),
    "v": (Viseme.FV, "G"),
    "th": (Viseme.THL, "H"),
    "dh": (Viseme.THL, "H"),
    "l": (Viseme.THL, "H"),
    "aa": (Viseme.OPEN, "D"),
    "ae": (Viseme.OPEN, "C"),
    "ah": (Viseme.OPEN, "C"),
    "ay": (Viseme.OPEN, "D"),
    "aw": (Viseme.OPEN, "D"),
    "eh": (Viseme.MID, "C"),
    "ey": (Viseme.MID, "C"),
    "er": (Viseme.MID, "E"),
    "ax": (Viseme.MID, "C"),
    "hh": (Viseme.MID, "B"),
    "k": (Viseme.MID, "B"),
    "g": (Viseme.MID, "B"),
    "ng": (Viseme.MID, "B"),
    "iy": (Viseme.WIDE, "B"),
    "ih": (Viseme.WIDE, "B"),
    "y": (Viseme.WIDE, "B"),
    "s": (Viseme.WIDE, "B"),
    "z": (Viseme.WIDE, "B"),
    "sh": (Viseme.WIDE, "B"),
    "zh": (Viseme.WIDE, "B"),
    "ch": (Viseme.WIDE, "B"),
    "jh": (Viseme.WIDE, "B"),
    "t": (Viseme.WIDE, "B"),
    "d": (Viseme.WIDE, "B"),
    "n": (Viseme.WIDE, "B"),
    "uw": (Viseme.ROUND, "F"),
    "uh": (Viseme.ROUND, "F"),
    "ow": (Viseme.ROUND, "F"),
    "w": (Viseme.ROUND, "F"),
    "oy": (Viseme.ROUND, "E"),
    "ao": (Viseme.ROUND, "E"),
    "r": (Viseme.ROUND, "E"),
}

# Jaw opening per phone (vowel height; consonants nearly closed), which refines its viseme's pose:
# the shape (width, closure, tuck, tongue) comes from the viseme, the opening from the phone.
JAW_OPENING: dict[str, float] = {
    "aa": 1.0,
    "ae": 0.9,
    "ay": 0.9,
    "aw": 0.9,
    "ao": 0.8,
    "ah": 0.75,
    "eh": 0.65,
    "oy": 0.6,
    "ey": 0.55,
    "ow": 0.55,
    "er": 0.45,
    "ax": 0.4,
    "ih": 0.4,
    "uh": 0.4,
    "iy": 0.3,
    "uw": 0.3,
    "hh": 0.45,
    "m": 0.0,
    "b": 0.0,
    "p": 0.0,
    "f": 0.1,
    "v": 0.1,
    "th": 0.25,
    "dh": 0.25,
    "l": 0.3,
    "s": 0.12,
    "z": 0.12,
    "sh": 0.15,
    "zh": 0.15,
    "ch": 0.15,
    "jh": 0.15,
    "t": 0.18,
    "d": 0.18,
    "n": 0.18,
    "k": 0.25,
    "g": 0.25,
    "ng": 0.25,
    "y": 0.2,
    "w": 0.15,
    "r": 0.25,
    "sil": 0.0,
}

OPEN_VOWELS = frozenset({"aa", "ae", "ah", "ay", "aw"})
ROUNDED = frozenset({"uw", "w", "ow"})
BILABIALS = frozenset({"m", "b", "p"})


def viseme_of(phone: str) -> Viseme:
    """The viseme of an ARPAbet phone (stress digits ignored); unknown phones are a neutral mid shape."""
    key = phone.lower().rstrip("012")
    return PHONES.get(key, (Viseme.MID, "B"))[0]


def pose_of(phone: str) -> MouthPose:
    """The mouth pose of one phone: its viseme's shape with the phone's own jaw opening."""
    key = phone.lower().rstrip("012")
    base = VISEME_POSES[viseme_of(key)]
    opening = JAW_OPENING.get(key)
    if opening is None:
        return base
    return MouthPose(
        open=opening, width=base.width, close=base.close, tuck=base.tuck, tongue=base.tongue
    )


def rhubarb_shape_of(phone: str) -> str:
    """Rhubarb Lip Sync's mouth shape (A–H, X) of an ARPAbet phone."""
    key = phone.lower().rstrip("012")
    return PHONES.get(key, (Viseme.MID, "B"))[1]
