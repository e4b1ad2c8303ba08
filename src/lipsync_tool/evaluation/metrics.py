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
    Each frame is aligned to the portrait by the least-squares similarity between stable
    landmarks (eye corners, nose bridge, forehead), refined by ECC image registration (affine,
    on the unblurred upper face outside the eyes, kept only when it matches the portrait better):
    the mesh's own 1-2 px noise would otherwise read as a change of the face. Grayscale SSIM
    (Gaussian window sigma 1.5, 11x11, the usual constants) is averaged over the upper face:
    inside the face oval, above the nose tip.
    The portrait is scaled to the video's face size (area down, cubic up). In a
    blink an eye region (its contour dilated by a third of its width) is left out: when the
    mesh sees the eye less than ``BLINK_RATIO`` as open as in the portrait, or when the eye
    region's SSIM dips ``BLINK_SSIM_DROP`` under the clip's median for at most
    ``MAX_BLINK_SECONDS`` (the mesh barely sees rendered blinks).
Stability
    Silent frames: loudness under ``SILENT_DB`` in runs of at least ``MIN_SILENT_RUN`` frames
    once ``SILENCE_GUARD_SECONDS`` are dropped at each end touching speech, where the mouth
    and the mesh are still settling. Jitter: the RMS 2-D distance of stable landmarks (nose
    tip, eye corners, chin) from their centred 5-frame moving average, over the frames whose
    whole window lies in one run, divided by sqrt(4/5) so that white noise of RMS displacement
    d reads d. A linear drift equals its own moving average and reads 0; slow curved motion
    reads only its curvature. The mesh's own floor on a still video is about 0.1 px.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..face import topology
from ..speech.visemes import BILABIALS, OPEN_VOWELS, ROUNDED
from .report import (
    ArticulationMetrics,
    IdentityMetrics,
    IntervalResult,
    ShareResult,
    StabilityMetrics,
    SyncMetrics,
)

FLOOR_DB = -60.0
SILENT_DB = -45.0
MIN_SILENT_RUN = 5
SILENCE_GUARD_SECONDS = 0.2
CLOSED_OPENING = 0.012
OPEN_FRACTION = 0.5
OPEN_MARGIN = 0.015
ROUND_MARGIN = 0.03
BLINK_RATIO = 0.6
BLINK_SSIM_DROP = 0.15
MAX_BLINK_SECONDS = 0.5
JITTER_WINDOW = 5
JITTER_POINTS = (topology.NOSE_TIP, *topology.EYE_CORNERS, topology.CHIN)
ALIGN_POINTS = (*topology.EYE_CORNERS, 168, 6, 197, 9, 151)
"""Eye corners, nose bridge (168, 6, 197) and forehead (9, 151): still while talking."""
ECC_ITERATIONS = 20
ECC_EPS = 1e-3
ECC_BLUR = 1
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
    if keep.sum() < 3:
        return float("nan")
    a, b = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    if denominator <= 1e-12:
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
    left, mid, right = correlations[best - 1 : best + 2]
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
    phones: Iterable[Phone],
    values: np.ndarray,
    fps: float,
    threshold: float,
    reduce: str,
    below: bool,
) -> ShareResult:
    """Test every phone's window: ``reduce`` (min, max, mean) of ``values`` against ``threshold``."""
    results = []
    for phone in phones:
        window = frame_window(phone.start, phone.end, fps, len(values))
        picked = values[window.start : window.stop]
        if len(picked) == 0 or not np.isfinite(picked).any():
            continue
        value = float(getattr(np, f"nan{reduce}")(picked))
        passed = bool(value <= threshold if below else value >= threshold)
        results.append(
            IntervalResult(
                phone.label, phone.start, phone.end, window.start, window.stop - 1, value, passed
            )
        )
    return ShareResult(
        sum(r.passed for r in results), len(results), float(threshold), tuple(results)
    )


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


def silent_runs(
    loudness_db: np.ndarray,
    threshold: float = SILENT_DB,
    min_run: int = MIN_SILENT_RUN,
    guard: int = 0,
) -> list[range]:
    """Runs of frames quieter than ``threshold`` dBFS, less ``guard`` frames at each end that
    touches speech (the mouth still settles there), kept when ``min_run`` frames remain."""
    level = np.asarray(loudness_db, dtype=np.float64)
    quiet = np.concatenate([[False], level < threshold, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = []
    for start, stop in zip(edges[::2], edges[1::2]):
        start, stop = (
            int(start) + (guard if start > 0 else 0),
            int(stop) - (guard if stop < len(level) else 0),
        )
        if stop - start >= min_run:
            runs.append(range(start, stop))
    return runs


def silent_jitter(
    landmarks: np.ndarray, runs: Sequence[range], points: Sequence[int] = JITTER_POINTS
) -> StabilityMetrics:
    """RMS distance of stable landmarks from their centred 5-frame moving average, in pixels.

    ``landmarks`` is (N, K, 2) (NaN where no face); ``runs`` the silent frame ranges.
    """
    tracks = np.asarray(landmarks, dtype=np.float64)[:, list(points), :2]
    half = JITTER_WINDOW // 2
    squares = []
    for run in runs:
        segment = tracks[run.start : run.stop]
        if len(segment) < JITTER_WINDOW:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(segment, JITTER_WINDOW, axis=0)
        residual = segment[half : len(segment) - half] - windows.mean(axis=-1)
        distance2 = (residual**2).sum(axis=-1)  # (frames, points)
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
    scale = float((sigma * np.diag(d)).sum() / max((s**2).sum(), 1e-12))
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_t - scale * rotation @ mu_s
    return matrix


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two grayscale images in 0..255 (Gaussian window, sigma 1.5)."""
    a, b = a.astype(np.float64), b.astype(np.float64)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(
            x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT
        )

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    return numerator / ((mu_a**2 + mu_b**2 + _C1) * (var_a + var_b + _C2))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean SSIM of two grayscale images, over ``mask`` (bool) when given."""
    values = ssim_map(a, b)
    return float(values[mask].mean() if mask is not None else values.mean())


def blink_mask(eye_ratio: np.ndarray, eye_ssim: np.ndarray, fps: float) -> np.ndarray:
    """(N, 2) bool: each eye (subject's right, left) is blinking in the frame.

    An eye blinks when the mesh sees it less than ``BLINK_RATIO`` as open as in the portrait
    (``eye_ratio``), or when its own SSIM falls ``BLINK_SSIM_DROP`` below the clip's median
    for at most ``MAX_BLINK_SECONDS`` (the mesh often misses rendered blinks; a longer or
    permanent change of the eye is not a blink and stays counted).
    """
    ratio = np.asarray(eye_ratio, dtype=np.float64)
    values = np.asarray(eye_ssim, dtype=np.float64)
    blinks = ratio < BLINK_RATIO
    longest = max(1, round(MAX_BLINK_SECONDS * fps))
    for eye in range(2):
        finite = values[:, eye][np.isfinite(values[:, eye])]
        if not len(finite):
            continue
        dips = np.concatenate(
            [[False], values[:, eye] < np.median(finite) - BLINK_SSIM_DROP, [False]]
        )
        edges = np.flatnonzero(np.diff(dips.astype(np.int8)))
        for start, stop in zip(edges[::2], edges[1::2]):
            if stop - start <= longest:
                blinks[start:stop, eye] = True
    return blinks


@dataclass(frozen=True)
class SsimParts:
    """Mean SSIM of one frame over the parts of the upper face."""

    rest: float
    """Over the upper face outside both eye regions."""
    eyes: tuple[float, float]
    """Over the subject's right and left eye region."""
    sizes: tuple[int, int, int]
    """Pixel counts of the rest, the right eye region and the left eye region."""

    def combined(self, masked: tuple[bool, bool] = (False, False)) -> float:
        """Mean SSIM over the upper face, the eye regions in ``masked`` left out."""
        total, count = self.rest * self.sizes[0], self.sizes[0]
        for value, size, skip in zip(self.eyes, self.sizes[1:], masked):
            if not skip and size:
                total, count = total + value * size, count + size
        return total / count if count else float("nan")


def identity_metrics(
    parts: Sequence[SsimParts], eye_ratio: np.ndarray, fps: float
) -> IdentityMetrics:
    """Upper-face SSIM over the frames, blinking eyes masked (``blink_mask``)."""
    if not parts:
        nan = float("nan")
        return IdentityMetrics(nan, nan, nan, nan, nan, 0, 0)
    eyes = np.array([p.eyes for p in parts], dtype=np.float64)
    blinks = blink_mask(eye_ratio, eyes, fps)
    scores = np.array([p.combined((bool(b[0]), bool(b[1]))) for p, b in zip(parts, blinks)])
    calm = ~blinks.any(axis=1)
    return IdentityMetrics(
        ssim_mean=float(np.mean(scores)),
        ssim_outside_blinks=float(np.mean(scores[calm])) if calm.any() else float("nan"),
        ssim_p05=float(np.percentile(scores, 5)),
        ssim_min=float(np.min(scores)),
        eyes_ssim=float(np.mean(eyes[calm])) if calm.any() else float("nan"),
        frames=len(parts),
        blink_frames=int((~calm).sum()),
    )


@dataclass(frozen=True)
class UpperFaceReference:
    """The portrait's upper face, prepared once for comparing every frame with it."""

    gray: np.ndarray
    """Grayscale canvas: the portrait around the face, scaled to the video's face size."""
    points: np.ndarray
    """(468, 2) portrait landmarks in canvas pixels."""
    region: np.ndarray
    """Bool mask of the upper face: inside the face oval, above the nose tip."""
    eye_masks: tuple[np.ndarray, np.ndarray]
    """Bool masks of the subject's right and left eye (dilated contours)."""
    eye_openness: tuple[float, float]
    """Openness of the right and left eye in the portrait."""

    @classmethod
    def build(
        cls, portrait: np.ndarray, landmarks: np.ndarray, face_height_px: float | None = None
    ) -> UpperFaceReference:
        """Prepare PORTRAIT (RGB) with its (468, 2+) landmarks, scaled to a face height of
        ``face_height_px`` (the video's as analysed; None: the portrait's own)."""
        from ..face.measure import eye_openness, face_height

        xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
        k = 1.0 if face_height_px is None else face_height_px / max(face_height(xy), 1e-9)
        if abs(k - 1.0) < 0.02:
            k, image = 1.0, portrait
        else:
            interpolation = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
            image = cv2.resize(portrait, None, fx=k, fy=k, interpolation=interpolation)
        scaled = xy * k
        oval = scaled[list(topology.FACE_OVAL)]
        x0, y0 = np.maximum(np.floor(oval.min(axis=0)) - SSIM_WINDOW, 0).astype(int)
        x1, y1 = np.minimum(np.ceil(oval.max(axis=0)) + SSIM_WINDOW, image.shape[1::-1]).astype(int)
        gray = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        points = scaled - (x0, y0)
        eyes = (eye_openness(points, "right"), eye_openness(points, "left"))
        masks = (
            _eye_mask(gray.shape, points, topology.RIGHT_EYE),
            _eye_mask(gray.shape, points, topology.LEFT_EYE),
        )
        return cls(gray, points, _upper_face_region(gray.shape, points), masks, eyes)


def _polygon_mask(shape: tuple[int, ...], polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(polygon - 0.5).astype(np.int32)], 1)
    return mask


def _upper_face_region(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """Inside the face oval and above the line through the nose tip across the face."""
    inside = _polygon_mask(shape, points[list(topology.FACE_OVAL)]).astype(bool)
    down = points[topology.CHIN] - points[topology.FOREHEAD_TOP]
    down /= max(float(np.linalg.norm(down)), 1e-9)
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    centres = np.stack([xs + 0.5, ys + 0.5], axis=-1)
    return inside & ((centres - points[topology.NOSE_TIP]) @ down < 0)


def _eye_mask(shape: tuple[int, ...], points: np.ndarray, contour: tuple[int, ...]) -> np.ndarray:
    """The eye's contour dilated by a third of its width (lids and lashes move in a blink)."""
    eye = points[list(contour)]
    radius = max(1, int(round(np.ptp(eye[:, 0]) / 3)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(_polygon_mask(shape, eye), kernel).astype(bool)


def upper_face_ssim(
    frame: np.ndarray, landmarks: np.ndarray, reference: UpperFaceReference
) -> SsimParts:
    """SSIM of an RGB frame's upper face against the portrait's, by part (rest, each eye).

    ``landmarks`` are the frame's (468, 2) in the pixels of ``frame``.
    """
    gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    values = ssim_map(align_to_reference(gray, landmarks, reference), reference.gray)
    right, left = reference.eye_masks
    masks = (
        reference.region & ~right & ~left,
        reference.region & right,
        reference.region & left & ~right,
    )
    means = [float(values[m].mean()) if m.any() else float("nan") for m in masks]
    return SsimParts(means[0], (means[1], means[2]), tuple(int(m.sum()) for m in masks))  # type: ignore[arg-type]


def align_to_reference(
    gray: np.ndarray, landmarks: np.ndarray, reference: UpperFaceReference
) -> np.ndarray:
    """The frame warped onto the reference canvas: a similarity from the stable landmarks,
    refined by ECC image registration (affine) on the upper face outside the eyes (which
    move in a blink), without blurring first (a small face's fine texture is what pins it).

    The refinement removes the mesh's own 1-2 px noise, which SSIM would otherwise read as a
    change of the face; it only moves the frame as a whole, so local changes still count.
    """
    align = list(ALIGN_POINTS)
    points = np.asarray(landmarks, dtype=np.float64)[align, :2]
    to_canvas = similarity_transform(points, reference.points[align])
    to_canvas[:, 2] += (
        to_canvas[:, :2].sum(axis=1) * 0.5 - 0.5
    )  # continuous coordinates -> pixel indices
    height, width = reference.gray.shape
    coarse = cv2.warpAffine(
        gray, to_canvas, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_ITERATIONS, ECC_EPS)
    steady = reference.region & ~reference.eye_masks[0] & ~reference.eye_masks[1]
    try:
        _, refine = cv2.findTransformECC(
            reference.gray,
            coarse,
            np.eye(2, 3, dtype=np.float32),
            cv2.MOTION_AFFINE,
            criteria,
            steady.astype(np.uint8),
            ECC_BLUR,
        )
    except cv2.error:  # no convergence: keep the landmark alignment
        return coarse
    # canvas -> coarse canvas (refine), then coarse canvas -> frame: one resampling of the frame
    to_frame = _affine3(cv2.invertAffineTransform(to_canvas)) @ _affine3(refine)
    refined = cv2.warpAffine(
        gray,
        to_frame[:2],
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    # On a faded, low-contrast photo the correlation surface is flat and ECC can drift off the
    # landmarks' alignment: its result is kept only when it matches the portrait better.
    reference_pixels = reference.gray[steady]
    refined_r = pearson(refined[steady], reference_pixels)
    if not refined_r >= pearson(coarse[steady], reference_pixels):
        return coarse
    return refined


def _affine3(matrix: np.ndarray) -> np.ndarray:
    """A 2x3 affine as a 3x3 matrix."""
    return np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
