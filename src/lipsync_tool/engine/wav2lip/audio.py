"""Wav2Lip's audio front-end in numpy: the normalised log-mel spectrogram and its per-frame windows.

Reproduces the upstream pipeline the checkpoints were trained on (16 kHz speech, pre-emphasis,
centred STFT with reflect padding, magnitude, 80 Slaney mel bands from 55 to 7600 Hz, dB with a
-100 dB floor and a 20 dB reference, symmetric scaling clipped to +-4) without librosa or scipy.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WIN = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0
MAX_ABS_VALUE = 4.0
WINDOW_COLUMNS = 16
"""Mel columns per generator input: 0.2 s at 80 columns a second."""

COLUMNS_PER_SECOND = SAMPLE_RATE / HOP  # 80.0

# Slaney's mel scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above.
_MEL_LINEAR_STEP = 200.0 / 3.0
_MEL_BREAK_HZ = 1000.0
_MEL_BREAK = _MEL_BREAK_HZ / _MEL_LINEAR_STEP
_MEL_LOG_STEP = np.log(6.4) / 27.0


def melspectrogram(wav: np.ndarray) -> np.ndarray:
    """The normalised log-mel spectrogram of 16 kHz mono speech: (80, 1 + len(wav) // 200) float32 in [-4, 4]."""
    samples = np.asarray(wav, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0:
        raise InputError(
            f"Wav2Lip needs mono speech samples, got an array of shape {samples.shape}."
        )
    if not np.all(np.isfinite(samples)):
        raise InputError("The speech contains NaN or infinite samples; re-encode the audio file.")
    magnitude = np.abs(_stft(_preemphasis(samples)))
    mel = mel_filterbank() @ magnitude
    return _normalise(_amp_to_db(mel)).astype(np.float32)


def mel_windows(mel: np.ndarray, fps: float, n_frames: int | None = None) -> np.ndarray:
    """Cut one (80, 16) window per video frame from `mel`: an (n, 80, 16) float32 array.

    Frame i starts at column int(i * (80 / fps)); a window that would run past the end is the
    last 16 columns. With `n_frames` None the count is upstream's: windows up to and including
    the first one that would run past the end. With `n_frames` given, exactly that many windows.
    """
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[1] < WINDOW_COLUMNS:
        raise InputError(
            f"Wav2Lip needs at least {WINDOW_COLUMNS} mel columns (0.2 s of speech), got shape {mel.shape}."
        )
    if not fps > 0:
        raise InputError(f"The frame rate must be positive, got {fps}.")
    starts = _window_starts(mel.shape[1], float(fps), n_frames)
    columns = starts[:, None] + np.arange(WINDOW_COLUMNS)[None, :]
    return np.ascontiguousarray(mel[:, columns].transpose(1, 0, 2))


def window_starts(n_columns: int, fps: float, n_frames: int | None = None) -> np.ndarray:
    """First mel column of each frame's window (as `mel_windows` cuts them), for cutting windows batch by batch."""
    if n_columns < WINDOW_COLUMNS:
        raise InputError(
            f"Wav2Lip needs at least {WINDOW_COLUMNS} mel columns (0.2 s of speech), got {n_columns}."
        )
    if not fps > 0:
        raise InputError(f"The frame rate must be positive, got {fps}.")
    return _window_starts(n_columns, float(fps), n_frames)


def windows_at(mel: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The (len(starts), 80, 16) float32 windows of `mel` beginning at `starts`."""
    columns = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(WINDOW_COLUMNS)[None, :]
    return np.ascontiguousarray(np.asarray(mel, dtype=np.float32)[:, columns].transpose(1, 0, 2))


def _window_starts(n_columns: int, fps: float, n_frames: int | None) -> np.ndarray:
    """First column of each window, clamped so that every window lies inside the spectrogram."""
    step = COLUMNS_PER_SECOND / fps  # upstream multiplies i by this quotient; keep its rounding
    last = n_columns - WINDOW_COLUMNS
    if n_frames is None:
        starts: list[int] = []
        while True:
            start = int(len(starts) * step)
            starts.append(min(start, last))
            if start > last:  # upstream stops after the first window that runs past the end
                break
    else:
        if n_frames < 0:
            raise InputError(f"The number of frames must not be negative, got {n_frames}.")
        starts = [min(int(i * step), last) for i in range(n_frames)]
    return np.asarray(starts, dtype=np.int64)


def mel_filterbank() -> np.ndarray:
    """The (80, 401) Slaney-style, area-normalised triangular mel filterbank (librosa's default)."""
    fft_hz = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))
    widths = np.diff(edges_hz)
    offsets = edges_hz[:, None] - fft_hz[None, :]  # edge minus bin frequency
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]  # each triangle has unit area
    return weights.astype(np.float32)


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _MEL_LINEAR_STEP
    logarithmic = _MEL_BREAK + np.log(np.maximum(hz, _MEL_BREAK_HZ) / _MEL_BREAK_HZ) / _MEL_LOG_STEP
    return np.where(hz >= _MEL_BREAK_HZ, logarithmic, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _MEL_LINEAR_STEP
    logarithmic = _MEL_BREAK_HZ * np.exp(_MEL_LOG_STEP * (np.maximum(mel, _MEL_BREAK) - _MEL_BREAK))
    return np.where(mel >= _MEL_BREAK, logarithmic, linear)


def _preemphasis(samples: np.ndarray) -> np.ndarray:
    """y[n] = x[n] - 0.97 x[n-1], with x[-1] = 0."""
    out = samples.copy()
    out[1:] -= PREEMPHASIS * samples[:-1]
    return out


def _stft(samples: np.ndarray) -> np.ndarray:
    """Centred STFT, reflect padding, periodic Hann window: (401, 1 + len // 200) complex."""
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n_frames]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(WIN) / WIN)
    return np.fft.rfft(frames * window, axis=1).T


def _amp_to_db(amplitude: np.ndarray) -> np.ndarray:
    floor = 10.0 ** (MIN_LEVEL_DB / 20.0)
    return 20.0 * np.log10(np.maximum(floor, amplitude)) - REF_LEVEL_DB


def _normalise(db: np.ndarray) -> np.ndarray:
    scaled = 2.0 * MAX_ABS_VALUE * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS_VALUE
    return np.clip(scaled, -MAX_ABS_VALUE, MAX_ABS_VALUE)


__all__ = [
    "COLUMNS_PER_SECOND",
    "FMAX",
    "FMIN",
    "HOP",
    "MAX_ABS_VALUE",
    "MIN_LEVEL_DB",
    "N_FFT",
    "N_MELS",
    "PREEMPHASIS",
    "REF_LEVEL_DB",
    "SAMPLE_RATE",
    "WIN",
    "WINDOW_COLUMNS",
    "mel_filterbank",
    "mel_windows",
    "melspectrogram",
]
