"""From timed phones to one mouth pose per video frame: anticipation, smoothing, and closures that survive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .visemes import POSE_PARAMETERS, pose_of

TRACK_RATE = 200  # Hz: the fine grid poses are built on before sampling at the frame rate
ANTICIPATION = 0.02  # s: targets lead the sound by this much ...
SMOOTHING = (
    0.022  # s: ... and this Gaussian blends them, so a movement starts ~65 ms ahead of its sound
)
# (shift + 2 sigma) and is halfway at 20 ms ahead, where the sound's energy and the mouth agree.
CONTACT = (
    0.25,
    0.75,
)  # closure-channel values over which the lips go from apart to touching: a /p/ whose
# blended closure peaks at 0.8 still shuts the lips in that frame, as a real bilabial does.
LOUDNESS_SHARE = (
    0.55  # of the jaw opening that follows the sound's level: the open-close cycle of syllables,
)
# which phone targets blended by a Gaussian only partly give (a loud syllable opens wider than a quiet one)
LOUDNESS_RANGE_DB = (
    25.0  # level below the speech's loud frames (its 90th percentile) at which that part is shut
)
SILENT_DB = -55.0  # dBFS: quieter frames are silence, however quiet the whole recording
MIN_CLOSURE = (
    0.05  # s: the shortest time the lips stay shut for m, b, p (eSpeak gives some /b/ 20 ms)
)
CLOSE_INDEX = POSE_PARAMETERS.index("close")
OPEN_INDEX = POSE_PARAMETERS.index("open")


class TimedPhone(Protocol):
    """Anything with a phone name and a start and end in seconds."""

    phone: str
    start: float
    end: float


@dataclass(frozen=True)
class PoseTrack:
    """Mouth poses, one row per video frame, columns as `POSE_PARAMETERS`."""

    poses: np.ndarray
    fps: float

    def column(self, name: str) -> np.ndarray:
        return self.poses[:, POSE_PARAMETERS.index(name)]

    @property
    def contact(self) -> np.ndarray:
        """How firmly the lips touch, 0..1: the closure channel through a smooth step (`CONTACT`)."""
        lo, hi = CONTACT
        t = np.clip((self.column("close") - lo) / (hi - lo), 0.0, 1.0)
        return (t * t * (3 - 2 * t)).astype(np.float32)

    @property
    def effective_opening(self) -> np.ndarray:
        """How far the lips are apart: the opening, cancelled where they touch."""
        return self.column("open") * (1.0 - self.contact)


def _gaussian(sigma_samples: float) -> np.ndarray:
    radius = int(np.ceil(3 * sigma_samples))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma_samples) ** 2)
    return kernel / kernel.sum()


def target_track(phones: Sequence[TimedPhone], duration: float) -> np.ndarray:
    """Step-wise pose targets on the fine grid, each phone's target starting ANTICIPATION early.

    A lip closure shorter than `MIN_CLOSURE` starts earlier, over the end of the sound before it:
    the lips shut before a stop's burst, and a recogniser or synthesiser often gives the closure
    itself to the preceding phone.
    """
    n = int(np.ceil(duration * TRACK_RATE)) + 1
    track = np.zeros((n, len(POSE_PARAMETERS)), np.float32)
    for phone in phones:
        pose = pose_of(phone.phone)
        begin = min(phone.start, phone.end - MIN_CLOSURE) if pose.close >= 1.0 else phone.start
        start = max(0, int(round((begin - ANTICIPATION) * TRACK_RATE)))
        stop = min(n, int(round((phone.end - ANTICIPATION) * TRACK_RATE)))
        if stop > start:
            track[start:stop] = pose.as_array()
    return track


def sample_frames(track: np.ndarray, fps: float, n_frames: int) -> PoseTrack:
    """Per-frame poses from a fine-grid target track: smoothed, then averaged over each frame's span.

    The closure channel takes the maximum over the frame instead of the average, so a short
    bilabial closure (60 ms is typical for /p/ and /b/) always reaches near-full closure in at
    least one frame even when it straddles two.
    """
    needed = int(np.ceil(n_frames / fps * TRACK_RATE)) + 1
    if len(track) < needed:
        track = (
            np.vstack([track, np.repeat(track[-1:], needed - len(track), axis=0)])
            if len(track)
            else np.zeros((needed, len(POSE_PARAMETERS)), np.float32)
        )
    kernel = _gaussian(SMOOTHING * TRACK_RATE)
    pad = len(kernel) // 2
    smooth = np.stack(
        [np.convolve(np.pad(c, pad, mode="edge"), kernel, mode="valid") for c in track.T], axis=1
    )
    poses = np.zeros((n_frames, track.shape[1]), np.float32)
    for index in range(n_frames):
        lo = int(round(index / fps * TRACK_RATE))
        hi = max(lo + 1, int(round((index + 1) / fps * TRACK_RATE)))
        span = smooth[lo:hi]
        poses[index] = span.mean(axis=0)
        raw_close = track[lo:hi, CLOSE_INDEX].max(initial=0.0)
        poses[index, CLOSE_INDEX] = min(1.0, 0.5 * raw_close + 0.5 * span[:, CLOSE_INDEX].max())
    return PoseTrack(poses, fps)


def frame_poses(
    phones: Sequence[TimedPhone], duration: float, fps: float, n_frames: int
) -> PoseTrack:
    """Per-frame mouth poses for timed phones: each phone's target, anticipated, blended, sampled."""
    return sample_frames(target_track(phones, max(duration, n_frames / fps)), fps, n_frames)


def with_loudness(track: PoseTrack, level_db: np.ndarray) -> PoseTrack:
    """`track` with `LOUDNESS_SHARE` of its jaw opening following the per-frame level (dBFS, one per frame).

    The level is read relative to the speech's own loud frames, so a quiet recording opens as wide
    as a loud one; closures are untouched, since the lips still meet wherever they touch.
    """
    level = np.asarray(level_db, dtype=np.float64)
    if len(level) != len(track.poses):
        raise ValueError(f"{len(level)} levels for {len(track.poses)} frames")
    if len(level) == 0:
        return track
    audible = level[level > max(float(level.max()) - 40.0, SILENT_DB)]
    if len(audible) == 0:
        return track
    loud = float(np.percentile(audible, 90))
    shut = max(loud - LOUDNESS_RANGE_DB, SILENT_DB)
    share = np.clip((level - shut) / max(loud - shut, 1.0), 0.0, 1.0)
    poses = track.poses.copy()
    poses[:, OPEN_INDEX] = (1.0 - LOUDNESS_SHARE) * poses[:, OPEN_INDEX] + LOUDNESS_SHARE * share
    return PoseTrack(poses.astype(np.float32), track.fps)
