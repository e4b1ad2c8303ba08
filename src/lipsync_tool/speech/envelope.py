"""Loudness envelope of speech, sampled at the video frame rate, and the mouth opening it implies."""

from __future__ import annotations

import numpy as np

WINDOW_FRAMES = 1.5  # analysis window, in video frames, centred on each frame
ABSOLUTE_GATE_DB = -50.0  # below this (dBFS) the mouth is closed whatever the recording's level
DYNAMIC_RANGE_DB = 30.0  # from a soft consonant (closed) to a stressed vowel (open)
HEADROOM_DB = 3.0  # levels this close to the peak all open the mouth fully


CHUNK_FRAMES = 1500  # frames per block: bounds the float64 working memory on long recordings


def frame_rms(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS of the audio around the centre of each video frame (window of 1.5 frames)."""
    centres = (np.arange(n_frames) + 0.5) / fps * sample_rate
    half = WINDOW_FRAMES / fps * sample_rate / 2
    start = np.clip(np.round(centres - half).astype(np.int64), 0, len(samples))
    stop = np.clip(np.round(centres + half).astype(np.int64), 0, len(samples))
    rms = np.zeros(n_frames)
    for first in range(0, n_frames, CHUNK_FRAMES):
        block = slice(first, min(first + CHUNK_FRAMES, n_frames))
        lo, hi = int(start[block].min()), int(stop[block].max())
        squares = np.concatenate([[0.0], np.cumsum(np.square(samples[lo:hi], dtype=np.float64))])
        count = np.maximum(stop[block] - start[block], 1)
        rms[block] = np.sqrt(np.maximum(squares[stop[block] - lo] - squares[start[block] - lo], 0.0) / count)
    return rms


def loudness_db(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """Per-frame level in dBFS."""
    return 20.0 * np.log10(frame_rms(samples, sample_rate, fps, n_frames) + 1e-9)


def mouth_opening_from_loudness(level_db: np.ndarray) -> np.ndarray:
    """Map per-frame dB levels to a mouth opening in [0, 1]: 0 in silence, 1 at the loud end of speech.

    Levels are taken relative to the recording's own speech peaks (so quiet and loud recordings
    of the same speech open the mouth alike) over a 30 dB range, the span between a stressed
    vowel and a soft consonant; a light symmetric smoothing removes flicker without shifting
    the timing.
    """
    if len(level_db) == 0:
        return np.zeros(0, dtype=np.float32)
    peak = float(np.percentile(level_db, 98))
    if peak < ABSOLUTE_GATE_DB:
        return np.zeros(len(level_db), dtype=np.float32)
    bottom = max(peak - DYNAMIC_RANGE_DB, ABSOLUTE_GATE_DB)
    top = peak - HEADROOM_DB
    opening = np.clip((level_db - bottom) / (top - bottom), 0.0, 1.0)
    if len(opening) >= 3:
        padded = np.pad(opening, 1, mode="edge")
        opening = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    opening[level_db < ABSOLUTE_GATE_DB] = 0.0
    return opening.astype(np.float32)
