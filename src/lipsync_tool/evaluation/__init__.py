"""Measure any talking-head video from its pixels and its audio: sync, articulation, identity, stability.

``evaluate_video(video, audio=..., phones=..., portrait=...)`` returns an ``EvaluationReport``;
the definitions of every metric are in ``evaluation.metrics``, the tracking in
``evaluation.tracking``, the phone-file format in ``cli.evaluate``. Heavy modules (numpy,
OpenCV, the face models) are imported on first use so the CLI's ``--help`` stays instant.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, MediaError
from .report import EvaluationReport, IdentityMetrics

if TYPE_CHECKING:
    import numpy as np

    from ..media.probe import MediaInfo
    from .metrics import Phone
    from .tracking import FaceFollower, TrackedFrame

__all__ = ["EvaluationReport", "evaluate_video", "parse_phones", "read_phones"]

log = logging.getLogger(__name__)

ANALYSIS_RATE = 16000
"""Sample rate the audio is decoded at for its loudness envelope."""
PhoneLike = Any
"""A Phone, a (label, start, end) tuple or a {"phone", "start", "end"[, "ipa"]} dict."""


def evaluate_video(
    video: str | Path,
    *,
    audio: str | Path | None = None,
    phones: str | Path | Sequence[PhoneLike] | None = None,
    portrait: str | Path | None = None,
    max_lag: int = 5,
    max_height: int | None = 720,
    follower: FaceFollower | None = None,
) -> EvaluationReport:
    """Measure VIDEO against AUDIO (default: its own sound), true PHONES and the PORTRAIT.

    ``phones`` is a JSON file (format in ``cli.evaluate``) or a sequence of phones with
    ARPAbet labels; without it articulation is None, without ``portrait`` identity is None.
    Frames taller than ``max_height`` lines are analysed scaled down. ``follower`` lets a
    caller reuse loaded face models. Raises InputError for unusable inputs.
    """
    import numpy as np

    from .metrics import (
        SILENCE_GUARD_SECONDS,
        articulation_metrics,
        silent_jitter,
        silent_runs,
        sync_metrics,
    )
    from .tracking import FaceFollower, FaceTrack, follow_video

    started = time.perf_counter()
    if max_lag < 0:
        raise InputError(f"--max-lag must be 0 or more, not {max_lag}")
    if max_height is not None and max_height < 64:
        raise InputError(f"--max-height must be at least 64 lines, not {max_height}")
    ffmpeg, video_path, info = _open_video(video)
    audio_path = _audio_source(ffmpeg, audio, video_path, info)
    phone_list = (
        read_phones(phones) if isinstance(phones, (str, Path)) else parse_phones(phones or [])
    )
    follower = follower or FaceFollower()
    meter = _FrameMeter(_portrait_face(portrait, follower) if portrait is not None else None)
    video_stream = info.video
    assert video_stream is not None and video_stream.fps is not None  # _open_video checked it
    fps = float(video_stream.fps)
    size = (int(video_stream.width or 0), int(video_stream.height or 0))
    for frame in follow_video(ffmpeg, video_path, size, follower, max_height):
        meter.add(frame)
    track = FaceTrack.from_landmarks(meter.landmarks, meter.detections)
    if not track.found.any():
        raise InputError(
            f"no face found in any frame of VIDEO {video_path}; give a video of one frontal face"
        )
    level = _loudness(ffmpeg, audio_path, fps, track.frames, audio is None)
    report = EvaluationReport(
        video=str(video_path),
        audio=str(audio_path),
        portrait=None if portrait is None else str(portrait),
        phones=str(phones) if isinstance(phones, (str, Path)) else None,
        frames=track.frames,
        fps=fps,
        frame_size=size,
        faces_found=int(track.found.sum()),
        detections=track.detections,
        face_height_px=float(np.median(track.face_height[track.found])),
        sync=sync_metrics(track.opening, level, max_lag),
        articulation=articulation_metrics(track.opening, track.width, fps, phone_list)
        if phone_list
        else None,
        identity=meter.identity(fps) if portrait is not None else None,
        stability=silent_jitter(
            track.landmarks, silent_runs(level, guard=round(SILENCE_GUARD_SECONDS * fps))
        ),
        seconds=time.perf_counter() - started,
    )
    log.debug("evaluated %s: %d frames in %.1f s", video_path.name, report.frames, report.seconds)
    return report


@dataclass
class _FrameMeter:
    """Collects each frame's landmarks and, given a portrait, its upper-face SSIM by part."""

    portrait: tuple[np.ndarray, np.ndarray] | None
    """The portrait (RGB) and its (468, 2) landmarks."""
    landmarks: list[np.ndarray | None] = field(default_factory=list)
    detections: int = 0
    parts: list[Any] = field(default_factory=list)
    """SsimParts of each frame with a face."""
    eye_ratios: list[tuple[float, float]] = field(default_factory=list)
    """Each eye's openness over the portrait's, in the same frames."""
    reference: Any = None

    def add(self, frame: TrackedFrame) -> None:
        """Take one tracked frame."""
        self.landmarks.append(frame.landmarks)
        self.detections += int(frame.detected)
        points = frame.image_landmarks
        if self.portrait is None or points is None:
            return
        from ..face.measure import eye_openness, face_height
        from .metrics import UpperFaceReference, upper_face_ssim

        if self.reference is None:  # compare at the video's face size, known from its first face
            self.reference = UpperFaceReference.build(
                *self.portrait, face_height_px=face_height(points)
            )
        right, left = self.reference.eye_openness
        self.eye_ratios.append(
            (
                eye_openness(points, "right") / max(right, 1e-6),
                eye_openness(points, "left") / max(left, 1e-6),
            )
        )
        self.parts.append(upper_face_ssim(frame.image, points, self.reference))

    def identity(self, fps: float) -> IdentityMetrics:
        """Upper-face SSIM summary (``metrics.identity_metrics``)."""
        import numpy as np

        from .metrics import identity_metrics

        return identity_metrics(
            self.parts, np.array(self.eye_ratios, dtype=np.float64).reshape(-1, 2), fps
        )


def _existing(path: str | Path, role: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(
            f"{role} {path} does not exist" if not path.exists() else f"{role} {path} is not a file"
        )
    return path.absolute()


def _open_video(video: str | Path) -> tuple[str, Path, MediaInfo]:
    """ffmpeg, the video's absolute path and its stream facts; InputError if it has no usable video."""
    from ..media.ffmpeg import find_ffmpeg
    from ..media.probe import probe

    path = _existing(video, "VIDEO")
    ffmpeg = find_ffmpeg()
    try:
        info = probe(ffmpeg, path)
    except MediaError as exc:
        raise InputError(f"cannot read VIDEO {path}: not a media file ffmpeg can decode") from exc
    if info.video is None or not info.video.width or not info.video.height:
        raise InputError(f"VIDEO {path} has no video stream; give a talking-head video")
    if not info.video.fps:
        raise InputError(
            f"VIDEO {path}: its frame rate is unknown; re-encode it with a constant rate (ffmpeg -r 25)"
        )
    return ffmpeg, path, info


def _audio_source(ffmpeg: str, audio: str | Path | None, video: Path, info: MediaInfo) -> Path:
    """The file whose first audio stream is measured: AUDIO, else the video; InputError if silent."""
    from ..media.probe import probe

    if audio is None:
        if info.audio is None:
            raise InputError(f"VIDEO {video} has no audio track; give the speech with --audio")
        return video
    path = _existing(audio, "AUDIO")
    try:
        has_audio = probe(ffmpeg, path).audio is not None
    except MediaError as exc:
        raise InputError(f"cannot read AUDIO {path}: not a media file ffmpeg can decode") from exc
    if not has_audio:
        raise InputError(f"AUDIO {path} has no audio track; give a file with the speech in it")
    return path


def _portrait_face(portrait: str | Path, follower: FaceFollower) -> tuple[np.ndarray, np.ndarray]:
    """The portrait as RGB and its face's (468, 2) landmarks; InputError when it has no face."""
    from ..media.image import load_portrait

    image = load_portrait(_existing(portrait, "PORTRAIT"))
    try:
        face = follower.analyzer.analyze(image)
    except InputError as exc:
        raise InputError(f"PORTRAIT {portrait}: {exc}") from exc
    return image, face.landmarks.xy.astype("float64")


def _loudness(ffmpeg: str, path: Path, fps: float, n_frames: int, own_track: bool) -> np.ndarray:
    """Per-frame loudness (dBFS) of the first audio stream, aligned with the video's timeline.

    ``aresample=first_pts=0`` pads with silence an audio stream that starts after time 0, so
    an audio delay in the container is measured, not lost.
    """
    from ..media.audio import decode_mono
    from ..speech.envelope import loudness_db

    role = "VIDEO" if own_track else "AUDIO"
    try:
        samples = decode_mono(
            ffmpeg,
            path,
            seconds=n_frames / fps + 0.5,
            sample_rate=ANALYSIS_RATE,
            what=f"the audio of {path.name}",
            audio_filter="aresample=first_pts=0",
        )
    except MediaError as exc:
        raise InputError(f"cannot decode the audio of {role} {path}: {exc}") from exc
    if len(samples) == 0:
        raise InputError(
            f"the audio of {role} {path} decodes to no samples; give the speech with --audio"
        )
    return loudness_db(samples, ANALYSIS_RATE, fps, n_frames)


def read_phones(path: str | Path) -> list[Phone]:
    """Read a phones JSON file (format in ``cli.evaluate``); InputError when malformed."""
    source = _existing(path, "PHONES")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read PHONES {source}: {exc}") from exc
    return parse_phones(data, str(source))


def parse_phones(data: Any, where: str = "phones") -> list[Phone]:
    """Phones from a list of entries or a {"phones": [...], "alphabet": "arpabet"|"ipa"} object."""
    from ..speech.ipa import ipa_to_arpabet
    from .metrics import Phone

    alphabet = "arpabet"
    if isinstance(data, dict):
        alphabet = str(data.get("alphabet", "arpabet")).lower()
        data = data.get("phones")
    if alphabet not in ("arpabet", "ipa") or not isinstance(data, (list, tuple)):
        raise InputError(
            f'{where}: expected a list of {{"phone", "start", "end"}} or '
            '{"phones": [...], "alphabet": "arpabet" or "ipa"}'
        )
    phones = []
    for number, entry in enumerate(data):
        label, start, end, ipa = _entry(entry, where, number)
        phones.append(
            Phone(ipa_to_arpabet(label) if ipa or alphabet == "ipa" else label, start, end)
        )
    return phones


def _entry(entry: Any, where: str, number: int) -> tuple[str, float, float, bool]:
    """(label, start, end, label is IPA) of one entry: a Phone, a dict or a 3-sequence."""
    from .metrics import Phone

    if isinstance(entry, Phone):
        return entry.label, float(entry.start), float(entry.end), False
    try:
        if isinstance(entry, dict):
            label, start, end, ipa = (
                entry["phone"],
                entry["start"],
                entry["end"],
                bool(entry.get("ipa", False)),
            )
        else:
            (label, start, end), ipa = entry, False
        start, end = float(start), float(end)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f'{where}: entry {number} is not {{"phone", "start", "end"}}: {entry!r}'
        ) from exc
    if not isinstance(label, str) or not end >= start >= 0:
        raise InputError(
            f"{where}: entry {number} needs a text phone and 0 <= start <= end: {entry!r}"
        )
    return label, start, end, ipa
