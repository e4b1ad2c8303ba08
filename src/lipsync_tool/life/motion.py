"""What keeps a still portrait alive: when it blinks, and how the head drifts and nods."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FIRST_BLINK_AFTER = 1.0  # s: nobody blinks the instant a clip starts
BLINK_GAP = (2.2, 5.0)  # s between blinks, uniform: about 15-20 a minute with the blinks themselves
BLINK_LENGTH = (0.10, 0.15)  # s
SUBSTEPS = 8


@dataclass(frozen=True)
class HeadMotionRange:
    """Peak head motion: roll in degrees, translation in face heights."""

    roll: float
    shift: float
    nod: float


SUBTLE = HeadMotionRange(roll=0.8, shift=0.006, nod=0.006)
LIVELY = HeadMotionRange(roll=2.5, shift=0.02, nod=0.012)


def blink_times(duration: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """(start, length) of each blink: random gaps, none in the first second."""
    blinks = []
    t = FIRST_BLINK_AFTER + rng.uniform(0.0, BLINK_GAP[1] - BLINK_GAP[0])
    while t < duration:
        length = rng.uniform(*BLINK_LENGTH)
        if t + length <= duration:
            blinks.append((t, length))
        t += length + rng.uniform(*BLINK_GAP)
    return blinks


def blink_track(blinks: list[tuple[float, float]], fps: float, n_frames: int) -> np.ndarray:
    """Lid closure per frame in [0, 1]: a quick close and a slower opening, at its peak within the frame."""
    track = np.zeros(n_frames, np.float32)
    for start, length in blinks:
        first, last = int(start * fps), int(np.ceil((start + length) * fps))
        for index in range(max(first, 0), min(last + 1, n_frames)):
            t = (index + np.arange(SUBSTEPS) / SUBSTEPS) / fps - start
            phase = np.clip(t / length, 0.0, 1.0)
            closing = np.where(phase < 0.4, phase / 0.4, 1.0 - (phase - 0.4) / 0.6)
            inside = (t >= 0) & (t <= length)
            track[index] = max(
                track[index], float(np.max(np.where(inside, np.sin(closing * np.pi / 2), 0.0)))
            )
    return track


def _smooth_noise(n_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Slow wandering in [-1, 1]: three sinusoids between 0.07 and 0.35 Hz with random phases."""
    t = np.arange(n_frames) / fps
    freqs = rng.uniform(0.07, 0.35, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    weights = np.array([0.5, 0.3, 0.2])
    return (
        weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])
    ).sum(axis=0)


def _lowpass(signal: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    sigma = max(seconds * fps, 0.5)
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(signal, radius, mode="edge"), kernel, mode="valid")


def head_motion(
    activity: np.ndarray,
    fps: float,
    rng: np.random.Generator,
    motion: HeadMotionRange,
    scale: float = 1.0,
) -> np.ndarray:
    """Per frame (roll degrees, dx, dy in face heights): slow drift, calmer in silence, light nods on emphasis.

    `activity` is the per-frame mouth opening in [0, 1]; its slow rises are the emphasis the
    head nods with.
    """
    n = len(activity)
    if n == 0:
        return np.zeros((0, 3), np.float32)
    talking = _lowpass(activity.astype(np.float64), fps, 0.6)
    calm = 0.35 + 0.65 * np.clip(talking / max(talking.max(), 1e-6), 0.0, 1.0)
    roll = _smooth_noise(n, fps, rng) * motion.roll * calm
    dx = _smooth_noise(n, fps, rng) * motion.shift * calm
    dy = _smooth_noise(n, fps, rng) * motion.shift * 0.6 * calm
    emphasis = _lowpass(activity.astype(np.float64), fps, 0.12) - _lowpass(
        activity.astype(np.float64), fps, 0.8
    )
    dy = dy + _lowpass(np.clip(emphasis, 0.0, None), fps, 0.1) * motion.nod * 4.0
    return (np.stack([roll, dx, dy], axis=1) * scale).astype(np.float32)


class HeadMover:
    """Rolls and shifts the head about a point under the chin; the motion fades out over a soft band
    around the head, so body and background stay put (and the encoder has far fewer pixels to track)."""

    def __init__(
        self,
        image_shape: tuple[int, ...],
        points: np.ndarray,
        pivot: np.ndarray,
        face_height: float,
    ) -> None:
        from ..face.frame import Roi, feather_mask
        from ..face.topology import FACE_OVAL

        oval = points[list(FACE_OVAL)]
        centre = oval.mean(axis=0)
        head = centre + (oval - centre) * 1.45
        sigma = 0.08 * face_height
        self.roi = Roi.around(head, image_shape, margin=int(3 * sigma))
        self.mask = feather_mask(head, self.roi, sigma).astype(np.float32)
        width, height = self.roi.size
        self.xs = (np.arange(width, dtype=np.float32) + self.roi.x0)[None, :]
        self.ys = (np.arange(height, dtype=np.float32) + self.roi.y0)[:, None]
        self.pivot = (float(pivot[0]), float(pivot[1]))
        self.face_height = face_height

    def apply(self, frame: np.ndarray, roll: float, dx: float, dy: float) -> np.ndarray:
        """`frame` with the head moved (a new array when anything moved)."""
        if abs(roll) < 1e-4 and abs(dx) < 1e-6 and abs(dy) < 1e-6:
            return frame
        forward: np.ndarray = cv2.getRotationMatrix2D(self.pivot, roll, 1.0)
        forward[:, 2] += np.array((dx, dy)) * self.face_height
        (a, b, c), (d, e, f) = cv2.invertAffineTransform(forward).astype(np.float32)
        # Each pixel's source, faded back to itself by the mask, from the row and column coordinates alone.
        map_x = self.xs + self.mask * ((a - 1.0) * self.xs + b * self.ys + c)
        map_y = self.ys + self.mask * (d * self.xs + (e - 1.0) * self.ys + f)
        out = frame.copy()
        roi = self.roi
        # Bicubic: a bilinear resample at a fraction of a pixel blurs each frame by a different amount, so
        # fine lines (the seam of closed lips, lashes) would soften and sharpen as the head drifts.
        out[roi.y0 : roi.y1, roi.x0 : roi.x1] = cv2.remap(
            frame, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101
        )
        return out
