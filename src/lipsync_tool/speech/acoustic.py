"""Language-independent mouth targets from the sound itself: loudness, spectral balance and formant-like cues."""

from __future__ import annotations

import numpy as np

from .coarticulation import TRACK_RATE, PoseTrack, sample_frames
from .visemes import POSE_PARAMETERS

WINDOW = 0.025  # s
SILENCE_BELOW_PEAK_DB = 35.0  # frames this far under the speech peaks are silence
OPEN_RANGE_DB = 24.0
ABSOLUTE_GATE_DB = -55.0  # dBFS: quieter than this is silence whatever the recording's level


def _spectra(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectra on the TRACK_RATE grid (rows), their bin frequencies, and each row's level in dBFS."""
    hop = sample_rate / TRACK_RATE
    size = int(WINDOW * sample_rate)
    n_fft = 1 << (size - 1).bit_length()
    count = int(np.ceil(len(samples) / hop)) + 1
    padded = np.pad(samples.astype(np.float64), (size // 2, size + n_fft))
    starts = np.round(np.arange(count) * hop).astype(np.int64)
    window = np.hanning(size)
    frames = padded[starts[:, None] + np.arange(size)[None, :]] * window[None, :]
    power = np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2
    level_db = 10 * np.log10((frames**2).mean(axis=1) / (window**2).mean() + 1e-12)
    return power, np.fft.rfftfreq(n_fft, 1 / sample_rate), level_db


def _band(power: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) + 1e-12


def acoustic_track(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Pose targets on the TRACK_RATE grid from spectral features.

    Loudness opens the jaw; a high share of energy above 4 kHz (fricatives: s, sh, f) spreads
    the lips over a small opening; the balance of 1–2.5 kHz against 250–1000 Hz, a proxy for the
    second formant, spreads (front vowels, ee) or rounds (back vowels, oo) the lips; a short dip
    in loudness between two voiced stretches (a stop) closes them.
    """
    power, freqs, level_db = _spectra(samples, sample_rate)
    total_db = 10 * np.log10(_band(power, freqs, 80, 7600))
    peak = float(np.percentile(total_db, 98)) if len(total_db) else -120.0
    voiced = (total_db > peak - SILENCE_BELOW_PEAK_DB) & (level_db > ABSOLUTE_GATE_DB)
    opening = (
        np.clip((total_db - (peak - OPEN_RANGE_DB)) / (OPEN_RANGE_DB - 3.0), 0.0, 1.0) * voiced
    )
    hiss = _band(power, freqs, 4000, 7600) / _band(power, freqs, 80, 7600)
    fricative = np.clip((hiss - 0.25) / 0.35, 0.0, 1.0) * voiced
    front = np.log10(_band(power, freqs, 1000, 2500) / _band(power, freqs, 250, 1000))
    width = np.clip(front * 1.6 + 0.2, -1.0, 1.0) * voiced
    width = width * (1 - fricative) + 0.8 * fricative
    opening = opening * (1 - 0.7 * fricative)
    track = np.zeros((len(total_db), len(POSE_PARAMETERS)), np.float32)
    track[:, POSE_PARAMETERS.index("open")] = opening
    track[:, POSE_PARAMETERS.index("width")] = width
    track[:, POSE_PARAMETERS.index("close")] = _stop_closures(total_db, voiced, peak)
    return track


def _stop_closures(level_db: np.ndarray, voiced: np.ndarray, peak: float) -> np.ndarray:
    """1 inside short (30–120 ms) loudness dips flanked by speech: the silent hold of a stop consonant."""
    quiet = level_db < peak - 20.0
    close = np.zeros(len(level_db), np.float32)
    index = 0
    while index < len(quiet):
        if not quiet[index]:
            index += 1
            continue
        end = index
        while end < len(quiet) and quiet[end]:
            end += 1
        length = (end - index) / TRACK_RATE
        flanked = index > 0 and end < len(quiet) and voiced[index - 1] and voiced[end]
        if flanked and 0.03 <= length <= 0.12:
            close[index:end] = 1.0
        index = end
    return close


def acoustic_poses(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> PoseTrack:
    """Per-frame mouth poses from the sound alone, with the same smoothing as the phonetic path."""
    return sample_frames(acoustic_track(samples, sample_rate), fps, n_frames)
