"""Decode speech once to 16 kHz mono float32 for analysis; the original stays for the mux."""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, MediaError
from .ffmpeg import run_ffmpeg
from .probe import MediaInfo, probe

log = logging.getLogger(__name__)

ANALYSIS_RATE = 16000
AUDIO_SUFFIXES = frozenset(
    ".wav .mp3 .m4a .aac .ogg .oga .opus .flac .webm .mp4 .mov .mkv .avi .wma .aif .aiff .caf "
    ".amr .3gp".split()
)
"""File endings of recordings (or videos whose sound is the speech) the tool expects."""
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS: nothing audible


@dataclass(frozen=True)
class SpeechAudio:
    """Decoded speech: mono float32 samples at `sample_rate`, and the file it came from."""

    samples: np.ndarray
    sample_rate: int
    source: Path

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0

    @property
    def is_silent(self) -> bool:
        return self.peak < SILENCE_PEAK


def frame_count(duration: float, fps: float) -> int:
    """Frames for a clip of `duration` seconds: the nearest whole number, at least one."""
    return max(1, int(math.floor(duration * fps + 0.5)))


def decode_mono(
    ffmpeg: str,
    path: Path,
    *,
    seconds: float,
    sample_rate: int,
    what: str,
    audio_filter: str | None = None,
) -> np.ndarray:
    """The first audio stream of `path` (up to `seconds`, through `audio_filter`) as mono float32
    samples at `sample_rate`; MediaError naming `what` when ffmpeg fails."""
    # ffmpeg writes the samples to a file that is read in one piece: read from its stdout, a
    # 10-minute recording's 38 MB would be held twice over (the pipe's chunks and their join).
    with tempfile.TemporaryDirectory(prefix="lipsync-decode-") as folder:
        raw = Path(folder) / "speech.f32"
        args = ["-i", str(path), "-map", "0:a:0", "-vn"]
        args += ["-af", audio_filter] if audio_filter else []
        args += ["-t", f"{seconds:.3f}", "-ac", "1", "-ar", str(sample_rate)]
        args += ["-f", "f32le", "-acodec", "pcm_f32le", "-y", str(raw)]
        run_ffmpeg(ffmpeg, args, what=f"decoding {what}")
        samples = np.fromfile(raw, dtype="<f4") if raw.exists() else np.empty(0, "<f4")
    return samples if samples.dtype == np.float32 else samples.astype(np.float32)


def check_audio(ffmpeg: str, path: Path, *, max_duration: float) -> MediaInfo:
    """What ffprobe says of AUDIO; InputError when it is empty, no media, silent of tracks or too
    long. Cheap: nothing is decoded (`decode_speech` checks this first)."""
    if path.stat().st_size == 0:
        raise InputError(f"AUDIO {path} is empty (0 bytes); give a recording with speech in it")
    try:
        info = probe(ffmpeg, path)
    except MediaError as exc:
        raise InputError(f"cannot read AUDIO {path}: not a media file ffmpeg can decode") from exc
    if info.audio is None:
        raise InputError(f"AUDIO {path} has no audio track; give a file with sound in it")
    if info.duration is not None and info.duration > max_duration + 1.0:
        raise InputError(
            f"AUDIO {path} is {info.duration:.1f} s long, over the {max_duration:g} s limit; "
            "raise it with --max-duration SECONDS or cut the audio"
        )
    return info


def decode_speech(
    ffmpeg: str, path: Path, *, max_duration: float, sample_rate: int = ANALYSIS_RATE
) -> SpeechAudio:
    """Decode the first audio stream of any file ffmpeg reads; raise InputError when unusable."""
    check_audio(ffmpeg, path, max_duration=max_duration)
    try:
        samples = decode_mono(
            ffmpeg, path, seconds=max_duration + 1.0, sample_rate=sample_rate, what=path.name
        )
    except MediaError as exc:
        raise InputError(f"cannot decode AUDIO {path}: {exc}") from exc
    if len(samples) == 0:
        raise InputError(
            f"AUDIO {path} decodes to zero samples; give a recording with speech in it"
        )
    speech = SpeechAudio(samples, sample_rate, path)
    if speech.duration > max_duration:
        raise InputError(
            f"AUDIO {path} is over the {max_duration:g} s limit; "
            "raise it with --max-duration SECONDS or cut the audio"
        )
    return speech
