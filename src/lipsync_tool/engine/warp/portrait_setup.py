"""The warp's per-portrait set-up (the portrait at render size and its mouth animator), kept for the
next render of the same portrait: a batch or a service often gives one presenter many clips."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ...face.frame import FaceFrame
from ...upscale.enlarge import enlarge, scaled_size, video_scale
from .mouth_warp import MouthWarp
from .working_size import SupersampledMouth, frame_scale, mouth_for

if TYPE_CHECKING:
    from ...upscale.realesrgan import RealEsrgan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PortraitSetup:
    """The portrait scaled to its render size, its landmarks there, and its mouth animator.

    Frames are a pure function of it and the pose, so one set-up serves any number of renders."""

    image: np.ndarray
    points: np.ndarray
    mouth: MouthWarp | SupersampledMouth


def build_setup(
    portrait: np.ndarray,
    points: np.ndarray,
    upscale: bool,
    amplitude: float,
    learned: RealEsrgan | None = None,
) -> PortraitSetup:
    """The set-up of `portrait` with its (468, 3) landmarks, at the size the render uses: with a
    `learned` upscaler and `upscale`, the video's full size, the head enlarged by the network."""
    height, width = portrait.shape[:2]
    image, points = portrait, points.astype(np.float64)
    if learned is not None and upscale:
        scale = video_scale(width, height)
    else:
        scale = frame_scale(width, height, FaceFrame.from_points(points[:, :2]).height, upscale)
    if scale != 1.0:
        size = scaled_size(width, height, scale)
        if scale < 1.0:
            image = cv2.resize(portrait, size, interpolation=cv2.INTER_AREA)
        else:
            image = enlarge(portrait, size, learned, points)
        points = points * (size[0] / width, size[1] / height, scale)
        log.info("rendering at %dx%d (portrait is %dx%d)", size[0], size[1], width, height)
    return PortraitSetup(image, points, mouth_for(image, points, amplitude))


class SetupMemo:
    """The last portrait's set-up, reused when the next render has the same pixels, landmarks
    and set-up options (one entry: memory stays that of one portrait)."""

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._setup: PortraitSetup | None = None

    def get(
        self,
        portrait: np.ndarray,
        points: np.ndarray,
        upscale: bool,
        amplitude: float,
        learned: RealEsrgan | None = None,
    ) -> PortraitSetup:
        key = _digest(portrait, points, (upscale, float(amplitude), learned is not None))
        if self._setup is None or key != self._key:
            self._setup = build_setup(portrait, points, upscale, amplitude, learned)
            self._key = key
        return self._setup


def _digest(portrait: np.ndarray, points: np.ndarray, settings: tuple[object, ...]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for array in (portrait, points):
        array = np.ascontiguousarray(array)
        digest.update(repr((array.shape, array.dtype.str)).encode())
        digest.update(array.data)
    digest.update(repr(settings).encode())
    return digest.digest()
