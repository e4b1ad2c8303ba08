"""One call from a portrait to its main face: detection, then the refined face mesh."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from lipsync_tool.errors import InputError
from lipsync_tool.face.detector import FaceBox, FaceDetector
from lipsync_tool.face.mesh import FaceLandmarks, FaceMesh

logger = logging.getLogger(__name__)

MIN_PRESENCE = 0.5
"""A detection counts as a face only if the mesh model agrees with this probability."""
NO_FACE_MESSAGE = (
    "no face found in the portrait; use a photo with one clearly visible, roughly frontal face"
)


@dataclass(frozen=True)
class PortraitFace:
    """The face a portrait is animated with."""

    box: FaceBox
    """Its detection."""
    landmarks: FaceLandmarks
    """Its 468 landmarks."""
    faces_seen: int
    """How many faces were found (detected and confirmed by the mesh); the largest is
    used."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "box": self.box.to_dict(),
            "landmarks": self.landmarks.to_dict(),
            "faces_seen": self.faces_seen,
        }


class FaceAnalyzer:
    """Owns one detector and one mesh model: load once, analyse many images."""

    def __init__(self, num_threads: int | None = None) -> None:
        from ..machine import threads

        num_threads = num_threads or threads(2)
        self.detector = FaceDetector(num_threads)
        self.mesh = FaceMesh(num_threads)

    def analyze(self, image: np.ndarray) -> PortraitFace:
        """Find the largest face in an RGB uint8 image and its landmarks.

        Each detection is confirmed by the mesh model's face-presence score, which rejects
        the detector's rare false positives. Raises InputError when no face remains.
        """
        found = []
        for box in self.detector.detect(image):
            landmarks = self.mesh.landmarks(image, box)
            if landmarks.score >= MIN_PRESENCE:
                found.append((box, landmarks))
            else:
                logger.debug("detection %s rejected by the mesh (%.3f)", box, landmarks.score)
        if not found:
            raise InputError(NO_FACE_MESSAGE)
        if len(found) > 1:
            logger.debug("%d faces found; using the largest", len(found))
        box, landmarks = found[0]
        return PortraitFace(box, landmarks, len(found))
