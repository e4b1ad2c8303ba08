"""Follow the face through every frame of a video with the face mesh, and measure it.

Every frame is measured on its own: the face is detected and the mesh run on it (MediaPipe's
static-image mode), so no frame's reading depends on the one before. Tracking from the last
frame's landmarks (its video mode) feeds each crop from the previous result: the crop follows
the jaw a frame late, a still mouth's reading swings between two values frame to frame, and
openings read low after a closure. Only when detection misses a face is it tracked from the
last frame's landmarks, kept while the presence score stays at least ``MIN_PRESENCE``.
Frames are decoded at most ``max_height`` lines tall for speed and the landmarks are scaled
back to the video's own pixels, so every distance reported is in video pixels whatever the
analysis size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..face.analyzer import FaceAnalyzer
from ..face.measure import eye_openness, face_height, mouth_opening, mouth_width
from ..face.mesh import FaceLandmarks
from ..media.frames import iter_frames

log = logging.getLogger(__name__)

MIN_PRESENCE = 0.5
"""Below this face-presence score a face tracked through a missed detection counts as lost."""
DEFAULT_MAX_HEIGHT = 720
"""Frames taller than this are analysed scaled down to it (landmarks are scaled back)."""


@dataclass(frozen=True)
class TrackedFrame:
    """One decoded frame and the face found in it."""

    index: int
    """Frame number, from 0."""
    image: np.ndarray = field(repr=False)
    """The frame as analysed: HxWx3 uint8 RGB, possibly scaled down from the video."""
    landmarks: np.ndarray | None = field(repr=False)
    """(468, 2) x, y in video pixels; None when no face was found."""
    scale: tuple[float, float]
    """Video pixels per analysed pixel along x and y."""
    detected: bool
    """True when this frame's face came from a fresh detection rather than tracking."""

    @property
    def image_landmarks(self) -> np.ndarray | None:
        """The landmarks in the analysed image's pixels."""
        if self.landmarks is None:
            return None
        return self.landmarks / np.asarray(self.scale)


@dataclass(frozen=True)
class FaceTrack:
    """Per-frame face measurements of a whole video; NaN where no face was found."""

    landmarks: np.ndarray = field(repr=False)
    """(N, 468, 2) float64 landmark x, y in video pixels."""
    opening: np.ndarray = field(repr=False)
    """(N,) inner-lip gap over face height (``face.measure.mouth_opening``)."""
    width: np.ndarray = field(repr=False)
    """(N,) mouth-corner distance over face height (``face.measure.mouth_width``)."""
    eyes: np.ndarray = field(repr=False)
    """(N, 2) eye openness (aspect ratio) of the subject's right and left eye."""
    face_height: np.ndarray = field(repr=False)
    """(N,) forehead-to-chin distance in video pixels."""
    detections: int
    """How many frames needed a fresh detection (the first included)."""

    @property
    def frames(self) -> int:
        """Number of frames."""
        return len(self.opening)

    @property
    def found(self) -> np.ndarray:
        """(N,) bool: a face was found in the frame."""
        return np.isfinite(self.opening)

    @classmethod
    def from_landmarks(
        cls, landmarks: Iterable[np.ndarray | None], detections: int = 0
    ) -> FaceTrack:
        """Measure a sequence of (468, 2) landmark arrays (None: no face in that frame)."""
        rows = []
        for points in landmarks:
            if points is None:
                rows.append((np.full((468, 2), np.nan), np.nan, np.nan, (np.nan, np.nan), np.nan))
                continue
            rows.append(
                (
                    np.asarray(points, dtype=np.float64)[:, :2],
                    mouth_opening(points),
                    mouth_width(points),
                    (eye_openness(points, "right"), eye_openness(points, "left")),
                    face_height(points),
                )
            )
        if not rows:
            raise InputError("the video has no frames to measure")
        points, opening, width, eyes, height = zip(*rows)
        return cls(
            landmarks=np.stack(points),
            opening=np.array(opening, dtype=np.float64),
            width=np.array(width, dtype=np.float64),
            eyes=np.array(eyes, dtype=np.float64).reshape(-1, 2),
            face_height=np.array(height, dtype=np.float64),
            detections=detections,
        )


def analysis_height(video_height: int, max_height: int | None) -> int | None:
    """The height to decode at: None (the video's own) unless it is over ``max_height``."""
    if max_height is None or video_height <= max_height:
        return None
    return max_height


class FaceFollower:
    """Runs the face mesh over a stream of frames; owns one FaceAnalyzer (load once)."""

    def __init__(self, analyzer: FaceAnalyzer | None = None) -> None:
        self.analyzer = analyzer or FaceAnalyzer()

    def _detect(self, image: np.ndarray) -> FaceLandmarks | None:
        try:
            return self.analyzer.analyze(image).landmarks
        except InputError:
            return None

    def follow(
        self, frames: Iterable[np.ndarray], scale: tuple[float, float] = (1.0, 1.0)
    ) -> Iterator[TrackedFrame]:
        """Yield every frame with its face: detected in that frame, tracked from the last one when missed."""
        previous: FaceLandmarks | None = None
        for index, image in enumerate(frames):
            current = self._detect(image)
            detected = current is not None
            if current is None and previous is not None:
                current = self.analyzer.mesh.track(image, previous)
                if current.score < MIN_PRESENCE:
                    log.debug("frame %d: no face (tracked score %.2f)", index, current.score)
                    current = None
            previous = current
            points = None if current is None else current.xy.astype(np.float64) * np.asarray(scale)
            yield TrackedFrame(index, image, points, scale, detected)


def follow_video(
    ffmpeg: str,
    path: Path,
    size: tuple[int, int],
    follower: FaceFollower,
    max_height: int | None = DEFAULT_MAX_HEIGHT,
) -> Iterator[TrackedFrame]:
    """Decode VIDEO (``size`` = its width, height) and yield its frames with their faces."""
    width, height = size
    decode_height = analysis_height(height, max_height)
    frames = iter_frames(ffmpeg, path, height=decode_height)
    first = next(frames, None)
    if first is None:
        raise InputError(f"VIDEO {path} has no frames that ffmpeg can decode")
    scale = (width / first.shape[1], height / first.shape[0])

    def all_frames() -> Iterator[np.ndarray]:
        yield first
        yield from frames

    yield from follower.follow(all_frames(), scale)
