"""The generator's input crop, and pasting its output back: colour-matched, blended through a feathered mask.

Upstream Wav2Lip resizes the 96x96 output to the face box and overwrites the box, which leaves
a visible square and a colour shift. Here the output is first matched to the portrait (per
channel mean and standard deviation over the crop's upper half, which the generator is shown
unmasked and should reproduce), then blended through a mask that is zero on every edge of the
box and one over the mouth and jaw, with smooth (C1) ramps in between.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .facebox import Box

Resize = Callable[[np.ndarray, tuple[int, int]], np.ndarray]
"""Takes a (96, 96, 3) float32 face to (width, height)."""

FACE_SIZE = 96
"""Side of the generator's square face input and output."""

_MASK_TOP = (0.42, 0.62)
"""Vertical ramp (fractions of the box height) from untouched upper face to fully generated mouth."""
FIRST_USED_ROW = int(_MASK_TOP[0] * FACE_SIZE) - 2
"""The first row of a generated face the paste-back reads: the mask is zero above `_MASK_TOP[0]`, less a
margin for the bilinear resize. The generator only needs to decode the rows from here down."""
_MASK_BOTTOM = (0.86, 1.0)
"""Ramp back to the untouched portrait at the bottom edge of the box."""
_MASK_SIDE = 0.22
"""Width of the ramps at the left and right edges, as a fraction of the box width."""
_GAIN_LIMITS = (0.5, 2.0)
"""Bounds of the per-channel contrast correction of the colour match."""


def crop_face(image_rgb: np.ndarray, box: Box) -> np.ndarray:
    """The box of an RGB image resized to 96x96, in BGR order (what the checkpoints were trained on)."""
    x1, y1, x2, y2 = box
    crop = cv2.resize(np.ascontiguousarray(image_rgb[y1:y2, x1:x2]), (FACE_SIZE, FACE_SIZE))
    return np.ascontiguousarray(crop[:, :, ::-1])


def face_input(crop_bgr: np.ndarray) -> np.ndarray:
    """The generator's (6, 96, 96) float32 face input: the crop with its lower half zeroed, then the crop, in [0, 1]."""
    reference = crop_bgr.astype(np.float32) / 255.0
    masked = reference.copy()
    masked[FACE_SIZE // 2 :] = 0.0
    return np.ascontiguousarray(np.concatenate([masked, reference], axis=2).transpose(2, 0, 1))


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below edge0, 1 above edge1, a C1 cubic between."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def feather_mask(height: int, width: int) -> np.ndarray:
    """(height, width, 1) float32 blend weights: zero on every edge of the box, one over the mouth and jaw."""
    v = np.linspace(0.0, 1.0, height)  # the first and last rows and columns get weight exactly 0
    u = np.linspace(0.0, 1.0, width)
    rows = smoothstep(*_MASK_TOP, v) * (1.0 - smoothstep(*_MASK_BOTTOM, v))
    cols = smoothstep(0.0, _MASK_SIDE, u) * smoothstep(0.0, _MASK_SIDE, 1.0 - u)
    return (rows[:, None] * cols[None, :]).astype(np.float32)[:, :, None]


def colour_stats(face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of a (96, 96, 3) face over the band just above the mouth
    (from `FIRST_USED_ROW` to the middle): the generator sees it unmasked, and it borders what is pasted."""
    upper = face[FIRST_USED_ROW : FACE_SIZE // 2].reshape(-1, 3).astype(np.float32)
    return upper.mean(axis=0), upper.std(axis=0)


def bilinear(face: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The plain resize of a generated face to its box."""
    return cv2.resize(face, size, interpolation=cv2.INTER_LINEAR)


class FacePaster:
    """Pastes generated faces into copies of one RGB frame at one box (built once, used for every frame)."""

    def __init__(
        self,
        frame_rgb: np.ndarray,
        box: Box,
        reference_bgr: np.ndarray,
        resize: Resize = bilinear,
    ) -> None:
        self.frame = frame_rgb
        self.box = box
        self.resize = resize
        x1, y1, x2, y2 = box
        self.region = frame_rgb[y1:y2, x1:x2].astype(np.float32)
        self.mask = feather_mask(y2 - y1, x2 - x1)
        self.target_mean, self.target_std = colour_stats(reference_bgr.astype(np.float32))

    def match_colour(self, face_bgr: np.ndarray) -> np.ndarray:
        """A (96, 96, 3) generated face in 0..255 shifted and scaled per channel to the reference's statistics."""
        mean, std = colour_stats(face_bgr)
        gain = np.clip(self.target_std / np.maximum(std, 1e-3), *_GAIN_LIMITS)
        return (face_bgr - mean) * gain + self.target_mean

    def paste(self, generated: np.ndarray) -> np.ndarray:
        """A new RGB uint8 frame with `generated` ((96, 96, 3) BGR in [0, 1]) blended into the box."""
        x1, y1, x2, y2 = self.box
        face = self.match_colour(generated.astype(np.float32) * 255.0)[:, :, ::-1]
        face = self.resize(np.ascontiguousarray(face, dtype=np.float32), (x2 - x1, y2 - y1))
        blended = self.region + self.mask * (face - self.region)
        frame = self.frame.copy()
        frame[y1:y2, x1:x2] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return frame


__all__ = [
    "FACE_SIZE",
    "FIRST_USED_ROW",
    "FacePaster",
    "bilinear",
    "colour_stats",
    "crop_face",
    "face_input",
    "feather_mask",
    "smoothstep",
]
