"""Quality metrics of a talking-head video, as pure functions on per-frame arrays.

Frame ``i`` is shown from ``i / fps`` to ``(i + 1) / fps``. Openings and widths are over
face height (``face.measure``); a typical face height is 18-20 cm, so 0.01 is about 2 mm.

Sync
    Pearson r between the mouth opening and the loudness (dBFS, clipped at ``FLOOR_DB`` so
    that digital silence does not weigh more than quiet breath) over every frame with a face;
    the cross-correlation is searched over lags ``-max_lag..max_lag`` by pairing
    ``opening[t + lag]`` with ``loudness[t]``: a positive lag means the mouth lags the audio.
Articulation (given true phone timings)
    The window of an interval is every frame whose display period overlaps it, i.e. whose
    centre lies within the interval widened by half a frame each side, so even a 30 ms /b/
    has at least one frame. "Speech frames" are those whose centre lies in a non-silent phone.

    - *closure*: the minimum opening in the window is at most ``CLOSED_OPENING`` (0.012 of
      face height, about 2 mm). An absolute threshold on purpose: one derived from the clip
      (e.g. its 10th percentile) moves with a mouth that never closes and would pass it.
    - *open vowel*: the maximum opening in the window reaches the open threshold, the largest
      of half the 95th percentile of speech openings (opening relative to the clip's own
      range), the 10th percentile plus ``OPEN_MARGIN`` (beyond the clip's own closed level,
      so a mouth frozen open fails) and ``CLOSED_OPENING`` plus ``OPEN_MARGIN``.
    - *rounding*: the mean width in the window is under ``1 - ROUND_MARGIN`` times the median
      width over speech frames (3 %, about ten times the mesh's width noise, so a mouth whose
      width never changes scores near 0, not near 50 %).
Identity
    Each frame is aligned to the portrait by the least-squares similarity transform between
    stable landmarks (eye corners, nose bridge, forehead); grayscale SSIM (Gaussian window
    sigma 1.5, 11x11, the usual constants) is averaged over the upper face: inside the face
    oval and above the nose tip. An eye less than ``BLINK_RATIO`` as open as in the portrait
    is masked out in that frame (its contour dilated by a third of its width).
Stability
    Silent frames: loudness under ``SILENT_DB`` in runs of at least ``MIN_SILENT_RUN`` frames.
    Jitter: the RMS 2-D distance of stable landmarks (nose tip, eye corners, chin) from their
    centred 5-frame moving average, over the frames whose whole window lies in one run,
    divided by sqrt(4/5) so that white noise of RMS displacement d reads d. A linear drift
    equals its own moving average and reads 0; slow curved motion reads its curvature only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import cv2
import numpy as np

from ..face import topology
from ..speech.visemes import BILABIALS, OPEN_VOWELS, ROUNDED
from .report import ArticulationMetrics, IntervalResult, ShareResult, StabilityMetrics, SyncMetrics

FLOOR_DB = -60.0
SILENT_DB = -45.0
MIN_SILENT_RUN = 5
CLOSED_OPENING = 0.012
OPEN_FRACTION = 0.5
OPEN_MARGIN = 0.015
ROUND_MARGIN = 0.03
BLINK_RATIO = 0.6
JITTER_WINDOW = 5
JITTER_POINTS = (topology.NOSE_TIP, *topology.EYE_CORNERS, topology.CHIN)
ALIGN_POINTS = (*topology.EYE_CORNERS, 168, 6, 197, 9, 151)
"""Eye corners, nose bridge (168, 6, 197) and forehead (9, 151): still while talking."""
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
SILENT_PHONES = frozenset({"sil", "sp", "spn", "pau", "_", ""})


@dataclass(frozen=True)
class Phone:
    """One phone with its true timing; ``label`` in ARPAbet (stress digits allowed)."""

    label: str
    start: float
    end: float

    @property
    def key(self) -> str:
        """Lower-case ARPAbet without stress digits."""
        return self.label.lower().rstrip("012")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two equally long arrays, ignoring pairs with a NaN; NaN if undefined."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep] - a[keep].mean() if keep.any() else a[keep], b[keep] - b[keep].mean() if keep.any() else b[keep]
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    if len(a) < 3 or denominator <= 1e-12:
        return float("nan")
    return float(a @ b) / denominator


def lagged_correlations(opening: np.ndarray, level: np.ndarray, max_lag: int) -> np.ndarray:
    """r of ``opening[t + lag]`` against ``level[t]`` for lag = -max_lag .. max_lag."""
    n = len(opening)
    values = []
    for lag in range(-max_lag, max_lag + 1):
        if abs(lag) >= n:
            values.append(float("nan"))
        elif lag >= 0:
            values.append(pearson(opening[lag:], level[: n - lag]))
        else:
            values.append(pearson(opening[: n + lag], level[-lag:]))
    return np.array(values)


def _refine(correlations: np.ndarray, best: int) -> float:
    """Sub-frame offset of the peak at index ``best`` (parabola through three points)."""
    if best == 0 or best == len(correlations) - 1:
        return 0.0
    left, mid, right = correlations[best - 1: best + 2]
    curvature = left - 2 * mid + right
    if not np.isfinite(curvature) or curvature >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))


def sync_metrics(opening: np.ndarray, loudness_db: np.ndarray, max_lag: int = 5) -> SyncMetrics:
    """Pearson r and best cross-correlation lag of mouth opening against loudness."""
    opening = np.asarray(opening, dtype=np.float64)
    level = np.maximum(np.asarray(loudness_db, dtype=np.float64), FLOOR_DB)
    if len(opening) != len(level):
        raise ValueError(f"{len(opening)} openings but {len(level)} loudness values")
    max_lag = max(0, int(max_lag))
    correlations = lagged_correlations(opening, level, max_lag)
    lags = np.arange(-max_lag, max_lag + 1)
    scores = np.where(np.isfinite(correlations), correlations, -np.inf)
    best = int(np.lexsort((np.abs(lags), -scores))[0])  # highest r; the smaller |lag| on a tie
    voiced = level >= SILENT_DB
    r_speech = pearson(opening[voiced], level[voiced]) if voiced.sum() >= 10 else None
    return SyncMetrics(
        r=pearson(opening, level),
        r_speech=r_speech,
        lag_frames=int(lags[best]),
        lag_subframe=float(lags[best]) + _refine(correlations, best),
        r_best=float(correlations[best]),
        max_lag=max_lag,
        frames=int(np.isfinite(opening).sum()),
        correlations=tuple(float(c) for c in correlations),
    )


def frame_window(start: float, end: float, fps: float, n_frames: int) -> range:
    """Frames whose display period [i/fps, (i+1)/fps) overlaps [start, end]."""
    first = max(0, math.ceil(start * fps - 1 + 1e-9))
    last = min(n_frames - 1, math.floor(end * fps))
    return range(first, last + 1)


def speech_frames(phones: Sequence[Phone], fps: float, n_frames: int) -> np.ndarray:
    """(N,) bool: the frame's centre lies inside a non-silent phone."""
    centres = (np.arange(n_frames) + 0.5) / fps
    inside = np.zeros(n_frames, dtype=bool)
    for phone in phones:
        if phone.key not in SILENT_PHONES:
            inside |= (centres >= phone.start) & (centres < phone.end)
    return inside


def _share(
    phones: Iterable[Phone], values: np.ndarray, fps: float, threshold: float,
    reduce: str, below: bool,
) -> ShareResult:
    """Test every phone's window: ``reduce`` (min, max, mean) of ``values`` against ``threshold``."""
    results = []
    for phone in phones:
        window = frame_window(phone.start, phone.end, fps, len(values))
        picked = values[window.start: window.stop]
        if len(picked) == 0 or not np.isfinite(picked).any():
            continue
        value = float(getattr(np, f"nan{reduce}")(picked))
        passed = value <= threshold if below else value >= threshold
        results.append(IntervalResult(phone.label, phone.start, phone.end, window.start, window.stop - 1, value, passed))
    return ShareResult(sum(r.passed for r in results), len(results), float(threshold), tuple(results))


def articulation_metrics(
    opening: np.ndarray, width: np.ndarray, fps: float, phones: Sequence[Phone]
) -> ArticulationMetrics:
    """Shares of bilabials closed, open vowels open and rounded sounds narrowed."""
    opening = np.asarray(opening, dtype=np.float64)
    width = np.asarray(width, dtype=np.float64)
    speaking = speech_frames(phones, fps, len(opening)) & np.isfinite(opening)
    if speaking.sum() >= 3:
        low, high = np.percentile(opening[speaking], [10, 95])
        open_threshold = max(OPEN_FRACTION * high, low + OPEN_MARGIN, CLOSED_OPENING + OPEN_MARGIN)
        round_threshold = (1.0 - ROUND_MARGIN) * float(np.median(width[speaking]))
    else:
        open_threshold, round_threshold = float("nan"), float("nan")
    classes = (BILABIALS, OPEN_VOWELS, ROUNDED)
    picked = [[p for p in phones if p.key in members] for members in classes]
    return ArticulationMetrics(
        closure=_share(picked[0], opening, fps, CLOSED_OPENING, "min", below=True),
        opening=_share(picked[1], opening, fps, open_threshold, "max", below=False),
        rounding=_share(picked[2], width, fps, round_threshold, "mean", below=True),
        speech_frames=int(speaking.sum()),
    )


def silent_runs(loudness_db: np.ndarray, threshold: float = SILENT_DB, min_run: int = MIN_SILENT_RUN) -> list[range]:
    """Runs of at least ``min_run`` consecutive frames quieter than ``threshold`` dBFS."""
    quiet = np.concatenate([[False], np.asarray(loudness_db) < threshold, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    return [range(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_run]


def silent_jitter(landmarks: np.ndarray, runs: Sequence[range], points: Sequence[int] = JITTER_POINTS) -> StabilityMetrics:
    """RMS distance of stable landmarks from their centred 5-frame moving average, in pixels.

    ``landmarks`` is (N, K, 2) (NaN where no face); ``runs`` the silent frame ranges.
    """
    tracks = np.asarray(landmarks, dtype=np.float64)[:, list(points), :2]
    half = JITTER_WINDOW // 2
    squares = []
    for run in runs:
        segment = tracks[run.start: run.stop]
        if len(segment) < JITTER_WINDOW:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(segment, JITTER_WINDOW, axis=0)
        residual = segment[half: len(segment) - half] - windows.mean(axis=-1)
        distance2 = (residual ** 2).sum(axis=-1)  # (frames, points)
        squares.append(distance2[np.isfinite(distance2).all(axis=1)])
    measured = np.concatenate(squares) if squares else np.zeros((0, len(points)))
    correction = 1.0 - 1.0 / JITTER_WINDOW  # variance kept by the residual of white noise
    jitter = math.sqrt(float(measured.mean()) / correction) if len(measured) else None
    return StabilityMetrics(jitter, int(sum(len(r) for r in runs)), len(runs), int(len(measured)))


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2x3 least-squares rotation + uniform scale + translation mapping source onto target."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(t.T @ s)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float((sigma * np.diag(d)).sum() / max((s ** 2).sum(), 1e-12))
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_t - scale * rotation @ mu_s
    return matrix


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two grayscale images in 0..255 (Gaussian window, sigma 1.5)."""
    a, b = a.astype(np.float64), b.astype(np.float64)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    return numerator / ((mu_a ** 2 + mu_b ** 2 + _C1) * (var_a + var_b + _C2))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean SSIM of two grayscale images, over ``mask`` (bool) when given."""
    values = ssim_map(a, b)
    return float(values[mask].mean() if mask is not None else values.mean())
