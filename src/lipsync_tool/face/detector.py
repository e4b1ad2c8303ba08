"""Face detection with MediaPipe's BlazeFace models (short and full range) on LiteRT."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from lipsync_tool.face.model_files import load_interpreter, output_index

logger = logging.getLogger(__name__)

MIN_SCORE = 0.5
"""Detections below this probability are dropped (MediaPipe's default)."""
NMS_IOU = 0.3
"""Detections overlapping more than this are blended into one (MediaPipe's value)."""
_RAW_SCORE_LIMIT = 80.0  # MediaPipe clips logits to +-100; 80 keeps float32 exp finite
_NUM_KEYPOINTS = 6


def check_rgb_image(image: np.ndarray) -> np.ndarray:
    """Raise ValueError unless ``image`` is an RGB uint8 array of shape (H, W, 3)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("image must be a numpy uint8 array")
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    return image


@dataclass(frozen=True)
class FaceBox:
    """One detected face in image pixels."""

    x0: float
    """Left edge."""
    y0: float
    """Top edge."""
    x1: float
    """Right edge."""
    y1: float
    """Bottom edge."""
    score: float
    """Detection probability in [0, 1]."""
    keypoints: np.ndarray = field(compare=False)
    """(6, 2) x, y: right eye, left eye, nose tip, mouth, right ear, left ear (MediaPipe
    order; "right" is the subject's right, on the image's left in a normal photo)."""

    def __post_init__(self) -> None:
        points = np.array(self.keypoints, dtype=np.float64).reshape(_NUM_KEYPOINTS, 2)
        points.setflags(write=False)
        object.__setattr__(self, "keypoints", points)

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        """Box centre (x, y)."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "x0": self.x0,
            "y0": self.y0,
            "x1": self.x1,
            "y1": self.y1,
            "score": self.score,
            "keypoints": self.keypoints.tolist(),
        }


@dataclass(frozen=True)
class _SsdSpec:
    """Anchor layout of one BlazeFace model (MediaPipe SsdAnchorsCalculator options)."""

    model: str
    input_size: int
    layers: tuple[tuple[int, int], ...]
    """(stride, anchors per cell) for each group of same-stride layers."""

    def anchors(self) -> np.ndarray:
        """(N, 2) anchor centres in [0, 1]; anchor sizes are fixed at 1."""
        parts = []
        for stride, per_cell in self.layers:
            cells = self.input_size // stride
            centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
            xs, ys = np.meshgrid(centres, centres)
            grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
            parts.append(np.repeat(grid, per_cell, axis=0))
        return np.concatenate(parts)


# short range: strides 8, 16, 16, 16 with 2 anchors per layer -> 16*16*2 + 8*8*6 = 896
SHORT_RANGE = _SsdSpec("face_detection_short_range", 128, ((8, 2), (16, 6)))
# full range: one stride-4 layer, one anchor per cell -> 48*48 = 2304
FULL_RANGE = _SsdSpec("face_detection_full_range", 192, ((4, 1),))


class _BlazeFace:
    """One loaded BlazeFace model returning raw candidates in letterbox coordinates."""

    def __init__(self, spec: _SsdSpec, num_threads: int) -> None:
        self.spec = spec
        self._anchors = spec.anchors()
        self._interpreter = load_interpreter(spec.model, num_threads)
        self._input = int(self._interpreter.get_input_details()[0]["index"])
        count = len(self._anchors)
        self._boxes = output_index(self._interpreter, count * 16, "regressors")
        self._scores = output_index(self._interpreter, count, "classificators")

    def candidates(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run on a square RGB image of the input size; return (N, 8, 2) boxes, (N,) scores.

        Each box is [(x0, y0), (x1, y1), 6 keypoints] in [0, 1] of the square.
        """
        tensor = square.astype(np.float32)[np.newaxis] / 127.5 - 1.0
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        logits = self._interpreter.get_tensor(self._scores).reshape(-1)
        logits = np.clip(logits, -_RAW_SCORE_LIMIT, _RAW_SCORE_LIMIT)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= MIN_SCORE
        raw = self._interpreter.get_tensor(self._boxes).reshape(-1, 8, 2)[keep]
        return self._decode(raw, self._anchors[keep]), scores[keep]

    def _decode(self, raw: np.ndarray, anchors: np.ndarray) -> np.ndarray:
        """Regressor offsets (in input pixels) to corners and keypoints in [0, 1]."""
        points = raw / self.spec.input_size
        points[:, 0] += anchors
        points[:, 2:] += anchors[:, np.newaxis]
        centre, half = points[:, 0].copy(), points[:, 1] / 2
        points[:, 0] = centre - half
        points[:, 1] = centre + half
        return points


@dataclass(frozen=True)
class _Letterbox:
    """Where an image sits, resized, inside a black square of side ``size``."""

    size: int
    resized: tuple[int, int]
    """(width, height) of the resized image."""
    offset: tuple[int, int]
    """(left, top) padding."""
    scale: tuple[float, float]
    """(x, y) scale from image to square pixels."""

    @classmethod
    def fit(cls, height: int, width: int, size: int) -> _Letterbox:
        """Centre an image of ``height`` x ``width`` in a square, keeping its aspect."""
        factor = size / max(height, width)
        new_w = min(size, max(1, round(width * factor)))
        new_h = min(size, max(1, round(height * factor)))
        offset = ((size - new_w) // 2, (size - new_h) // 2)
        return cls(size, (new_w, new_h), offset, (new_w / width, new_h / height))

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Resize ``image`` into the black square."""
        new_w, new_h = self.resized
        shrink = new_w < image.shape[1]
        interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        resized = cv2.resize(image, self.resized, interpolation=interpolation)
        left, top = self.offset
        return cv2.copyMakeBorder(
            resized,
            top,
            self.size - new_h - top,
            left,
            self.size - new_w - left,
            cv2.BORDER_CONSTANT,
            value=(0, 0, 0),
        )

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Map points in [0, 1] of the square back to image pixels."""
        return (points * self.size - np.asarray(self.offset)) / np.asarray(self.scale)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one (2, 2) corner box with (N, 2, 2) corner boxes."""
    low = np.maximum(box[0], others[:, 0])
    high = np.minimum(box[1], others[:, 1])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    area = np.prod(box[1] - box[0])
    areas = np.prod(others[:, 1] - others[:, 0], axis=1)
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, threshold: float = NMS_IOU
) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted non-max suppression.

    The best remaining candidate absorbs every candidate overlapping it by more than
    ``threshold``; the result is their score-weighted mean, keeping the best score.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    results = []
    remaining = np.arange(len(scores))
    while remaining.size:
        overlap = _iou(boxes[remaining[0], :2], boxes[remaining, :2]) > threshold
        overlap[0] = True
        group = remaining[overlap]
        weights = scores[group] / scores[group].sum()
        blended = np.tensordot(weights, boxes[group], axes=1)
        results.append((blended, float(scores[group[0]])))
        remaining = remaining[~overlap]
    return results


class FaceDetector:
    """BlazeFace short- and full-range detectors, loaded once and run on many images."""

    def __init__(self, num_threads: int = 2) -> None:
        self._models = tuple(_BlazeFace(s, num_threads) for s in (SHORT_RANGE, FULL_RANGE))

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Find faces in an RGB uint8 (H, W, 3) image; largest first, [] when none."""
        check_rgb_image(image)
        height, width = image.shape[:2]
        all_boxes, all_scores = [], []
        for model in self._models:
            size = model.spec.input_size
            letterbox = _Letterbox.fit(height, width, size)
            boxes, scores = model.candidates(letterbox.apply(image))
            all_boxes.append(letterbox.to_image(boxes))
            all_scores.append(scores)
            logger.debug("%s: %d candidates", model.spec.model, len(scores))
        merged = weighted_nms(np.concatenate(all_boxes), np.concatenate(all_scores))
        faces = [_to_face_box(points, score) for points, score in merged]
        faces = [f for f in faces if f.width > 0 and f.height > 0]
        return sorted(faces, key=lambda f: f.area, reverse=True)


def _to_face_box(points: np.ndarray, score: float) -> FaceBox:
    (x0, y0), (x1, y1) = points[0], points[1]
    return FaceBox(float(x0), float(y0), float(x1), float(y1), score, points[2:])
