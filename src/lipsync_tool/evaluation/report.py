"""The results of an evaluation: frozen dataclasses, their JSON form and a plain-text table.

``EvaluationReport.to_dict()`` is JSON-ready: NaN becomes ``null``, tuples become lists.
The targets shown in the table are the issue's quality bar for a talking-portrait engine;
they are printed beside the measurements for reference and never change them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TARGET_LAG = 1
"""Largest acceptable |lag| in frames."""
TARGET_R = 0.6
TARGET_CLOSURE = 0.85
TARGET_OPEN = 0.85
TARGET_ROUNDING = 0.70
TARGET_SSIM = 0.93
TARGET_JITTER_PX = 0.5


@dataclass(frozen=True)
class SyncMetrics:
    """Mouth opening against the audio's loudness envelope."""

    r: float
    """Pearson r at lag 0 over every frame with a face (loudness clipped at -60 dBFS)."""
    r_speech: float | None
    """Pearson r at lag 0 over the voiced frames only (loudness >= -45 dBFS): does the mouth
    follow the syllables, not only speech against silence? None with under 10 such frames."""
    lag_frames: int
    """Lag of the highest cross-correlation, in frames; positive: the mouth lags the audio."""
    lag_subframe: float
    """The lag refined by a parabola through the three correlations around the best."""
    r_best: float
    """Pearson r at ``lag_frames``."""
    max_lag: int
    """Lags searched: -max_lag .. +max_lag."""
    frames: int
    """Frames used (those with a face)."""
    correlations: tuple[float, ...]
    """Pearson r at each lag from -max_lag to +max_lag."""


@dataclass(frozen=True)
class IntervalResult:
    """One phone interval checked by an articulation test."""

    phone: str
    start: float
    end: float
    first_frame: int
    """First frame of the window (frames whose display period overlaps the interval)."""
    last_frame: int
    """Last frame of the window."""
    value: float
    """The measured value: min opening (closure), max opening (open vowels) or mean width
    (rounding), each over face height."""
    passed: bool


@dataclass(frozen=True)
class ShareResult:
    """How many intervals of one phone class pass their test."""

    passed: int
    total: int
    threshold: float
    """The threshold the values were compared with (over face height)."""
    intervals: tuple[IntervalResult, ...] = field(repr=False)

    @property
    def share(self) -> float | None:
        """passed / total; None without intervals."""
        return self.passed / self.total if self.total else None


@dataclass(frozen=True)
class ArticulationMetrics:
    """Mouth shapes against true phone timings."""

    closure: ShareResult
    """Bilabials (m b p): the lips close."""
    opening: ShareResult
    """Open vowels (aa ae ah ay aw): the mouth opens."""
    rounding: ShareResult
    """Rounded sounds (uw w ow): the mouth narrows."""
    speech_frames: int
    """Frames whose centre lies in a non-silent phone; the reference distribution."""


@dataclass(frozen=True)
class IdentityMetrics:
    """Upper-face SSIM of each frame against the portrait (blinking eyes masked)."""

    ssim_mean: float
    """Mean over the frames with a face."""
    ssim_outside_blinks: float
    """Mean over the frames in which neither eye blinks."""
    ssim_p05: float
    """5th percentile over frames: the worst stretches."""
    ssim_min: float
    eyes_ssim: float
    """Mean SSIM of the eye regions outside blinks: a lasting change of the eyes shows here."""
    frames: int
    """Frames compared (those with a face)."""
    blink_frames: int
    """Frames in which at least one eye was masked as blinking."""


@dataclass(frozen=True)
class StabilityMetrics:
    """Landmark jitter while nobody speaks."""

    jitter_px: float | None
    """RMS landmark jitter in video pixels; None when no silent stretch was found."""
    silent_frames: int
    """Frames in silent runs (loudness < -45 dBFS for >= 5 frames)."""
    runs: int
    """Number of silent runs."""
    frames_measured: int
    """Frames with a full 5-frame window inside a run and a face in all of them."""


@dataclass(frozen=True)
class EvaluationReport:
    """Everything measured on one video."""

    video: str
    audio: str
    """The audio the video was measured against (the video itself when it carries it)."""
    portrait: str | None
    phones: str | None
    frames: int
    fps: float
    frame_size: tuple[int, int]
    """Width and height of the video."""
    faces_found: int
    """Frames in which a face was found."""
    detections: int
    """Frames whose face the detector found (every frame measured, unless a missed one was tracked)."""
    face_height_px: float
    """Median forehead-to-chin distance in video pixels (the scale of the jitter)."""
    sync: SyncMetrics
    articulation: ArticulationMetrics | None
    """None without --phones."""
    identity: IdentityMetrics | None
    """None without --portrait."""
    stability: StabilityMetrics
    seconds: float
    """Wall-clock time of the evaluation."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None); shares are added beside their counts."""
        data = dataclasses.asdict(self)
        if self.articulation is not None:
            for name in ("closure", "opening", "rounding"):
                data["articulation"][name]["share"] = getattr(self.articulation, name).share
        return _json_ready(data)

    def format_table(self) -> str:
        """A plain-text table: metric, value, the issue's target, and whether it is met."""
        width, height = self.frame_size
        lines = [
            f"{self.video}: {self.frames} frames at {self.fps:g} fps, {width}x{height}, "
            f"face in {self.faces_found}, median face height {self.face_height_px:.0f} px",
            f"{'metric':<42}{'value':>16}  {'target':<10}",
        ]
        for label, value, target, ok in self._rows():
            mark = "" if ok is None else ("ok" if ok else "MISS")
            lines.append(f"{label:<42}{value:>16}  {target:<10}{mark}")
        lines.append(f"evaluated in {self.seconds:.1f} s")
        return "\n".join(lines)

    def _rows(self) -> list[tuple[str, str, str, bool | None]]:
        sync = self.sync
        rows = [
            (
                "sync: Pearson r (lag 0)",
                _num(sync.r),
                f">= {TARGET_R}",
                _check(sync.r, lambda v: v >= TARGET_R),
            ),
            ("sync: Pearson r, voiced frames", _num(sync.r_speech), "", None),
            (
                "sync: best lag (frames, + = mouth late)",
                f"{sync.lag_frames:+d} ({sync.lag_subframe:+.2f})",
                f"0 ± {TARGET_LAG}",
                abs(sync.lag_frames) <= TARGET_LAG,
            ),
            ("sync: Pearson r at best lag", _num(sync.r_best), "", None),
        ]
        if self.articulation is not None:
            art = self.articulation
            rows += [
                _share_row("bilabial closure (m b p)", art.closure, TARGET_CLOSURE),
                _share_row("open-vowel opening", art.opening, TARGET_OPEN),
                _share_row("rounding (uw w ow)", art.rounding, TARGET_ROUNDING),
            ]
        if self.identity is not None:
            ident = self.identity
            rows += [
                (
                    "upper-face SSIM, mean",
                    _num(ident.ssim_mean),
                    f">= {TARGET_SSIM}",
                    _check(ident.ssim_mean, lambda v: v >= TARGET_SSIM),
                ),
                ("upper-face SSIM outside blinks", _num(ident.ssim_outside_blinks), "", None),
                (
                    "upper-face SSIM, 5th percentile / min",
                    f"{_num(ident.ssim_p05)} / {_num(ident.ssim_min)}",
                    "",
                    None,
                ),
                ("eye-region SSIM outside blinks", _num(ident.eyes_ssim), "", None),
                ("frames with a blink (eyes masked)", str(ident.blink_frames), "", None),
            ]
        stab = self.stability
        rows.append(
            (
                f"silent jitter (px RMS, {stab.frames_measured} frames)",
                _num(stab.jitter_px, 2),
                f"< {TARGET_JITTER_PX}",
                _check(stab.jitter_px, lambda v: v < TARGET_JITTER_PX),
            )
        )
        return rows


def _share_row(label: str, result: ShareResult, target: float) -> tuple[str, str, str, bool | None]:
    share = result.share
    value = f"{result.passed}/{result.total}" + (f" = {share:.0%}" if share is not None else "")
    return (label, value, f">= {target:.0%}", None if share is None else share >= target)


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _check(value: float | None, test: Callable[[float], bool]) -> bool | None:
    if value is None or not math.isfinite(value):
        return None
    return test(value)


def _json_ready(value: Any) -> Any:
    """Tuples to lists, non-finite floats to None, recursively."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if hasattr(value, "dtype") and hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
