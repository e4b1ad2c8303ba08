"""Input validation of speech AUDIO: every claimed container and codec decodes with its timing; bad files are clear errors."""

from __future__ import annotations

import json
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lipsync_tool.errors import InputError
from lipsync_tool.media.audio import ANALYSIS_RATE, decode_speech

from .inputs_helpers import (
    _empty_file,
    _random_bytes,
    empty_wav,
    run_ffmpeg_to,
    video_with_audio,
    video_without_audio,
)

SPEECH = (1.2, 2.8)  # inside the voiced 1-3 s of the fixture's bursts.wav
QUIET = (0.0, 0.8)


def read_wav(path: Path) -> np.ndarray:
    """A 16-bit mono WAV as float samples in [-1, 1]: the reference the decoders are held to."""
    with wave.open(str(path), "rb") as handle:
        assert handle.getnchannels() == 1 and handle.getsampwidth() == 2
        return (
            np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float64)
            / 32768.0
        )


def rms(samples: np.ndarray, start: float, end: float, rate: int = ANALYSIS_RATE) -> float:
    part = samples[int(start * rate) : int(end * rate)].astype(np.float64)
    return float(np.sqrt(np.mean(part**2)))


def loudness_envelope(
    samples: np.ndarray, rate: int = ANALYSIS_RATE, window: float = 0.025, hop: float = 0.005
) -> np.ndarray:
    """RMS in 25 ms windows every 5 ms."""
    width, step = int(window * rate), int(hop * rate)
    squares = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    starts = np.arange(0, len(samples) - width + 1, step)
    return np.sqrt((squares[starts + width] - squares[starts]) / width)


def best_envelope_match(
    decoded: np.ndarray, reference: np.ndarray, max_lag: float = 0.15
) -> tuple[float, float]:
    """(lag in seconds, correlation) of the best-matching shift of the two loudness envelopes."""
    a, b = loudness_envelope(reference), loudness_envelope(decoded)
    best = (0.0, -1.0)
    for lag in range(-int(max_lag / 0.005), int(max_lag / 0.005) + 1):
        ref = a[max(0, -lag) : len(a) - max(0, lag)]
        dec = b[max(0, lag) : max(0, lag) + len(ref)]
        n = min(len(ref), len(dec))
        r = float(np.corrcoef(ref[:n], dec[:n])[0, 1])
        if r > best[1]:
            best = (lag * 0.005, r)
    return best


# --- speech audio ------------------------------------------------------------------------------
# name: (file name, ffmpeg output options, duration tolerance s, largest envelope lag s)
ENCODINGS = {
    "mp3": ("speech.mp3", ["-c:a", "libmp3lame", "-b:a", "64k"], 0.05, 0.01),
    "m4a-aac": ("speech.m4a", ["-c:a", "aac", "-b:a", "96k"], 0.05, 0.01),
    # ADTS has no field for the encoder's 1024 priming samples, so every decoder returns them:
    # the stream is 64 ms late and ~0.1 s long by construction of the format.
    "aac-adts": ("speech.aac", ["-c:a", "aac", "-b:a", "96k"], 0.15, 0.1),
    "ogg-vorbis": ("speech.ogg", ["-c:a", "libvorbis", "-q:a", "4"], 0.05, 0.01),
    "opus": ("speech.opus", ["-c:a", "libopus", "-b:a", "48k"], 0.05, 0.01),
    "flac": ("speech.flac", ["-c:a", "flac"], 0.05, 0.01),
    "wav-8k-mono": ("speech-8k.wav", ["-ar", "8000", "-ac", "1"], 0.05, 0.01),
    "wav-48k-stereo": ("speech-48k.wav", ["-ar", "48000", "-ac", "2"], 0.05, 0.01),
    "wav-22k-5.1": ("speech-6ch.wav", ["-ar", "22050", "-ac", "6"], 0.05, 0.01),
}


@pytest.fixture(scope="module")
def encoded_speech(
    tmp_path_factory: pytest.TempPathFactory, ffmpeg: str, assets: Path
) -> dict[str, Path]:
    """The fixture speech in every container and codec we claim to read, plus inside a video file."""
    folder = tmp_path_factory.mktemp("encoded")
    source = assets / "bursts.wav"
    files = {
        name: run_ffmpeg_to(ffmpeg, folder / file, "-i", str(source), *options)
        for name, (file, options, _, _) in ENCODINGS.items()
    }
    files["mp4-video"] = video_with_audio(ffmpeg, source, folder / "speech-video.mp4")
    return files


@pytest.mark.parametrize("name", [*ENCODINGS, "mp4-video"])
def test_speech_decodes_to_16_khz_mono_with_its_timing(
    encoded_speech: dict[str, Path], assets: Path, ffmpeg: str, tmp_path: Path, name: str
) -> None:
    reference = read_wav(assets / "bursts.wav")
    _, _, duration_tolerance, max_lag = ENCODINGS.get(name, (None, None, 0.05, 0.01))
    speech = decode_speech(ffmpeg, encoded_speech[name], max_duration=600)
    loud, quiet = rms(speech.samples, *SPEECH), rms(speech.samples, *QUIET)
    lag, correlation = best_envelope_match(speech.samples, reference)
    measured = {
        "duration": speech.duration,
        "rms_speech": loud,
        "rms_quiet": quiet,
        "lag_s": lag,
        "r": correlation,
    }
    (tmp_path / f"{name}.json").write_text(json.dumps(measured, indent=1))
    assert speech.sample_rate == ANALYSIS_RATE == 16000
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert speech.source == encoded_speech[name]
    assert abs(speech.duration - len(reference) / 16000) <= duration_tolerance, (
        f"{speech.duration:.3f} s"
    )
    assert loud > 100 * max(quiet, 1e-6), f"speech RMS {loud:.4f} vs silence RMS {quiet:.6f}"
    assert abs(lag) <= max_lag and correlation > 0.95, (
        f"envelope: lag {lag * 1000:.0f} ms, r={correlation:.3f}"
    )
    assert not speech.is_silent


def test_silent_audio_decodes_and_is_flagged_silent(assets: Path, ffmpeg: str) -> None:
    speech = decode_speech(ffmpeg, assets / "silence.wav", max_duration=600)
    assert abs(speech.duration - 2.0) < 0.01
    assert speech.is_silent


def _text_file(d: Path, ffmpeg: str) -> Path:
    (d / "notes.wav").write_text("hello\n")
    return d / "notes.wav"


BAD_AUDIO: dict[str, tuple[Callable[[Path, str], Path], str]] = {
    "empty": (_empty_file, r"is empty \(0 bytes\)"),
    "random-bytes": (_random_bytes, "cannot read AUDIO .* not a media file ffmpeg can decode"),
    "text": (_text_file, "cannot read AUDIO"),
    "video-without-audio": (
        lambda d, f: video_without_audio(f, d / "mute.mp4"),
        "has no audio track",
    ),
    "zero-samples": (lambda d, f: empty_wav(d / "nothing.wav"), "decodes to zero samples"),
}


@pytest.mark.parametrize("name", list(BAD_AUDIO))
def test_unusable_audio_is_a_clear_input_error(tmp_path: Path, ffmpeg: str, name: str) -> None:
    make, message = BAD_AUDIO[name]
    path = make(tmp_path, ffmpeg)
    with pytest.raises(InputError, match=message) as caught:
        decode_speech(ffmpeg, path, max_duration=600)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "max_duration", [1.0, 3.5], ids=["caught-by-the-probe", "caught-after-decoding"]
)
def test_too_long_audio_names_the_flag(assets: Path, ffmpeg: str, max_duration: float) -> None:
    """4 s of speech: far over 1 s is caught from the container; 3.5 s is within the probe's slack, caught after decoding."""
    with pytest.raises(InputError, match="--max-duration") as caught:
        decode_speech(ffmpeg, assets / "bursts.wav", max_duration=max_duration)
    assert f"{max_duration:g} s limit" in str(caught.value)


def test_audio_exactly_at_the_limit_is_accepted(assets: Path, ffmpeg: str) -> None:
    assert decode_speech(ffmpeg, assets / "bursts.wav", max_duration=4.0).duration == pytest.approx(
        4.0
    )
