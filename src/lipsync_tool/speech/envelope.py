"""Loudness envelope of speech, sampled at the video frame rate."""

from __future__ import annotations

import numpy as np

WINDOW_FRAMES = 1.5  # analysis window, in video frames, centred on each frame


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
        rms[block] = np.sqrt(
            np.maximum(squares[stop[block] - lo] - squares[start[block] - lo], 0.0) / count
        )
    return rms


def loudness_db(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """Per-frame level in dBFS."""
    return 20.0 * np.log10(frame_rms(samples, sample_rate, fps, n_frames) + 1e-9)
