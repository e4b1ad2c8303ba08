"""The generated mouth enlarged with Real-ESRGAN's detail, for a face box far larger than 96 px.

Wav2Lip generates a 96 px face; at 1080 lines its box is some 300-500 px, so a plain resize pastes
a blurred mouth into a sharp portrait. Only the rows the paste reads (from `FIRST_USED_ROW` down)
go through the network, and they get the same treatment as the portrait: bicubic plus three
quarters of the network's fine detail (`upscale.enlarge`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from ...upscale.enlarge import MIN_LEARNED_FACTOR, enlarge
from ...upscale.tiles import read_pixels
from .paste import FACE_SIZE, FIRST_USED_ROW

if TYPE_CHECKING:
    from ...upscale.realesrgan import RealEsrgan

MOUTH_PIXELS = read_pixels(FACE_SIZE, FACE_SIZE - FIRST_USED_ROW)
"""Pixels the network reads a frame (the generated rows the paste uses, tile padding included)."""


class SharpMouth:
    """Resizes generated faces to the box, with the network's detail below `FIRST_USED_ROW`."""

    def __init__(self, network: RealEsrgan) -> None:
        self.network = network

    def __call__(self, face: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """`face` ((96, 96, 3) float32 RGB, 0-255) at `size` (width, height), float32."""
        width, height = size
        out = cv2.resize(face, size, interpolation=cv2.INTER_CUBIC)
        if height / FACE_SIZE < MIN_LEARNED_FACTOR:
            return out
        top = round(FIRST_USED_ROW * height / FACE_SIZE)
        rows = np.clip(face[FIRST_USED_ROW:] + 0.5, 0, 255).astype(np.uint8)
        out[top:] = enlarge(rows, (width, height - top), self.network).astype(np.float32)
        return out
