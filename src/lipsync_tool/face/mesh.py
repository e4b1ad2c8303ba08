"""The 468-point MediaPipe face mesh on LiteRT: a rotated square crop in, landmarks out."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from lipsync_tool.face import topology
from lipsync_tool.face.detector import FaceBox, check_rgb_image
from lipsync_tool.face.model_files import load_interpreter, output_index

logger = logging.getLogger(__name__)

NUM_LANDMARKS = 468
INPUT_SIZE = 192
ROI_SCALE = 1.5
"""The crop is this many times the face's size (MediaPipe's value, for both passes)."""


@dataclass(frozen=True)
class Roi:
    """A square crop of the image, rotated by ``angle`` around its centre."""

    cx: float
    """Centre x in image pixels."""
    cy: float
    """Centre y in image pixels."""
    size: float
    """Side length in image pixels."""
    angle: float
    """Rotation in radians; the crop's x axis is (cos, sin) in image coordinates (y down),
    so positive turns clockwise on screen."""

    @classmethod
    def around(cls, points: np.ndarray, start: np.ndarray, end: np.ndarray) -> Roi:
        """Square ROI, ``ROI_SCALE`` times the points' extent, aligned with start → end.

        The extent is measured in the rotated frame (MediaPipe uses the axis-aligned box,
        which grows with roll; this keeps the crop's scale the same for tilted faces).
        """
        angle = math.atan2(end[1] - start[1], end[0] - start[0])
        cos, sin = math.cos(angle), math.sin(angle)
        rotation = np.array([[cos, sin], [-sin, cos]])  # image -> upright frame
        upright = points[:, :2] @ rotation.T
        low, high = upright.min(axis=0), upright.max(axis=0)
        centre = ((low + high) / 2) @ rotation  # back to the image frame
        size = float((high - low).max()) * ROI_SCALE
        return cls(float(centre[0]), float(centre[1]), size, angle)

    def to_crop(self) -> np.ndarray:
        """2x3 affine from image to crop pixels (continuous coordinates)."""
        k = INPUT_SIZE / self.size
        cos, sin = math.cos(self.angle) * k, math.sin(self.angle) * k
        half = INPUT_SIZE / 2
        return np.array(
            [
                [cos, sin, half - cos * self.cx - sin * self.cy],
                [-sin, cos, half + sin * self.cx - cos * self.cy],
            ]
        )

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 3) crop points (x, y, z in crop pixels) back to image pixels."""
        k = self.size / INPUT_SIZE
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        x = (points[:, 0] - INPUT_SIZE / 2) * k
        y = (points[:, 1] - INPUT_SIZE / 2) * k
        out = np.empty_like(points, dtype=np.float32)
        out[:, 0] = self.cx + cos * x - sin * y
        out[:, 1] = self.cy + sin * x + cos * y
        out[:, 2] = points[:, 2] * k
        return out


def roi_from_box(face: FaceBox) -> Roi:
    """MediaPipe's first ROI: the detection box made square, rotated by the eye line."""
    (rx, ry), (lx, ly) = face.keypoints[0], face.keypoints[1]
    angle = math.atan2(ly - ry, lx - rx)
    cx, cy = face.center
    return Roi(cx, cy, max(face.width, face.height) * ROI_SCALE, angle)


def roi_from_points(points: np.ndarray) -> Roi:
    """ROI from landmarks: their extent in the frame of the eye-corner line (33 → 263)."""
    right, left = topology.EYE_LINE
    return Roi.around(points, points[right], points[left])


@dataclass(frozen=True)
class FaceLandmarks:
    """468 face-mesh landmarks of one face in image pixels."""

    points: np.ndarray = field(compare=False)
    """(468, 3) float32 x, y, z; z is depth in the same pixel scale (smaller = nearer)."""
    score: float
    """Face-presence probability from the mesh model, in [0, 1]; low means the crop did not
    contain a face (tracking lost)."""
    roi: Roi
    """The crop the points were found in."""

    def __post_init__(self) -> None:
        points = np.array(self.points, dtype=np.float32).reshape(NUM_LANDMARKS, 3)
        points.setflags(write=False)
        object.__setattr__(self, "points", points)

    @property
    def xy(self) -> np.ndarray:
        """(468, 2) x, y in image pixels."""
        return self.points[:, :2]

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) bounding box of the points."""
        low, high = self.xy.min(axis=0), self.xy.max(axis=0)
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])

    def roll_degrees(self) -> float:
        """Angle of the eye line (33 → 263) in degrees, positive clockwise on screen."""
        right, left = topology.EYE_LINE
        dx, dy = self.xy[left] - self.xy[right]
        return math.degrees(math.atan2(dy, dx))

    def yaw_degrees(self) -> float:
        """How far the head is turned, from the depth of the outer eye corners: 0 frontal, positive
        when the face's left side (the viewer's right) is farther from the camera."""
        right, left = topology.EYE_LINE
        across = float(np.hypot(*(self.xy[left] - self.xy[right])))
        deeper = float(self.points[left, 2] - self.points[right, 2])
        return math.degrees(math.atan2(deeper, across))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "points": self.points.tolist(),
            "score": self.score,
            "roi": {
                "cx": self.roi.cx,
                "cy": self.roi.cy,
                "size": self.roi.size,
                "angle": self.roi.angle,
            },
        }


class FaceMesh:
    """The MediaPipe face-landmark model, loaded once and run on many crops."""

    def __init__(self, num_threads: int = 2) -> None:
        self._interpreter = load_interpreter("face_landmark", num_threads)
        self._input = int(self._interpreter.get_input_details()[0]["index"])
        self._points = output_index(self._interpreter, NUM_LANDMARKS * 3, "conv2d_20")
        self._presence = output_index(self._interpreter, 1, "conv2d_30")

    def landmarks(self, image: np.ndarray, face: FaceBox) -> FaceLandmarks:
        """Landmarks of the detected ``face`` in an RGB uint8 image.

        Runs twice: on the ROI from the detection, then on the ROI from those landmarks.
        """
        check_rgb_image(image)
        first = self.run(image, roi_from_box(face))
        return self.run(image, roi_from_points(first.points))

    def track(self, image: np.ndarray, previous: FaceLandmarks) -> FaceLandmarks:
        """Landmarks in a new video frame, using the ROI from the previous frame's result.

        Check ``score`` of the result: below ~0.5 the face was lost; detect again.
        """
        check_rgb_image(image)
        return self.run(image, roi_from_points(previous.points))

    def run(self, image: np.ndarray, roi: Roi) -> FaceLandmarks:
        """One pass of the model on ``roi`` of an RGB uint8 image."""
        crop = self._crop(image, roi)
        tensor = crop.astype(np.float32)[np.newaxis] * np.float32(1 / 255)
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._points).reshape(NUM_LANDMARKS, 3)
        logit = float(self._interpreter.get_tensor(self._presence).reshape(-1)[0])
        score = 1.0 / (1.0 + math.exp(-max(min(logit, 80.0), -80.0)))
        return FaceLandmarks(roi.to_image(raw), score, roi)

    @staticmethod
    def _crop(image: np.ndarray, roi: Roi) -> np.ndarray:
        """The ROI resampled to INPUT_SIZE x INPUT_SIZE (black outside the image)."""
        matrix = roi.to_crop()
        # cv2 samples at pixel indices; shift continuous coordinates by half a pixel
        matrix[:, 2] += matrix[:, :2].sum(axis=1) * 0.5 - 0.5
        return cv2.warpAffine(
            image,
            matrix,
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
