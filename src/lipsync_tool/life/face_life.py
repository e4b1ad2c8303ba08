"""Blinks and head motion for one portrait over one clip, decided up front and applied frame by frame.

Shared by the engines that animate a still portrait: the warp engine, and the wav2lip engine,
whose generator alone would leave every face but the mouth frozen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..face.frame import FaceFrame
from .eyes import EyeBlinker
from .motion import LIVELY, SUBTLE, HeadMover, blink_times, blink_track, head_motion

CHIN = 152
PIVOT_BELOW_CHIN = 0.35  # face heights: the head rolls about a point in the neck


@dataclass(frozen=True)
class LifeSettings:
    """What shapes a face's life: the request's frame rate, blink, still and expression scale."""

    fps: float
    blink: bool = True
    still: bool = True
    expression_scale: float = 1.0

    @property
    def alive(self) -> bool:
        """Whether anything moves besides the mouth."""
        return self.blink or self.expression_scale > 0


class FaceLife:
    """`apply(frame, index)` closes the lids and moves the head as planned for frame `index`.

    `activity` (one value in [0, 1] per frame: mouth opening, or loudness) makes the head
    calmer in silence and nod on emphasis. Honours --no-blink, --no-still, --expression-scale
    (0: no head motion) through `settings`; `seed` fixes the blinks and the motion.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...],
        points: np.ndarray,
        settings: LifeSettings,
        activity: np.ndarray,
        seed: int,
    ) -> None:
        rng = np.random.default_rng(seed)
        n, fps = len(activity), settings.fps
        blinks = blink_times(n / fps, rng)
        self.blink = blink_track(blinks, fps, n) if settings.blink else np.zeros(n, np.float32)
        self.head = head_motion(
            activity,
            fps,
            rng,
            SUBTLE if settings.still else LIVELY,
            scale=settings.expression_scale,
        )
        points = points[:, :2].astype(np.float64)
        self.blinker = EyeBlinker(image_shape, points) if settings.blink else None
        self.mover: HeadMover | None = None
        if settings.expression_scale > 0:
            face = FaceFrame.from_points(points)
            pivot = points[CHIN] + face.down * PIVOT_BELOW_CHIN * face.height
            self.mover = HeadMover(image_shape, points, pivot, face.height)

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        """`frame` (the portrait's frame `index`) with the lids and the head of that frame."""
        if self.blinker is not None:
            frame = self.blinker.apply(frame, float(self.blink[index]))
        if self.mover is not None:
            frame = self.mover.apply(frame, *(float(x) for x in self.head[index]))
        return frame


def seed_from_audio(samples: np.ndarray) -> int:
    """A seed that is the same for the same audio, so renders repeat without --seed."""
    return int.from_bytes(
        hashlib.sha256(np.ascontiguousarray(samples).tobytes()).digest()[:8], "little"
    )


def life_seed(seed: int | None, samples: np.ndarray) -> int:
    """`seed`, else one derived from the audio: the same audio gives the same blinks and head motion."""
    return seed if seed is not None else seed_from_audio(samples)
