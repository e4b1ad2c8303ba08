"""Silence trimming: find the speech, plan which source intervals to keep, cut audio to the plan.

Speech is found with PocketSphinx's voice-activity detector (the WebRTC VAD) on 10 ms frames,
in mode 2 ("aggressive", ``Vad.MEDIUM_STRICT``): mode 3 loses quiet word endings, modes 0-1
call more background noise speech. The VAD's thresholds are absolute, so it hears the
recording peak-normalised (raised by at most ``VAD_MAX_GAIN_DB``). It also holds "speech" for
60-90 ms after the voice stops (its hangover), so it runs twice, forwards and over the
time-reversed signal, and a frame is speech only when both passes say so: the forward pass
gives the onsets, the backward pass the offsets, and noise blips that one pass reports alone
cancel. Runs under ``MIN_SPEECH`` are dropped, then every run is widened by ``PADDING`` on each
side (overlaps merged) so soft word edges are not clipped: the spans returned include it.

Without PocketSphinx an energy detector takes over: 10 ms frames louder than the recording's
speech peaks (99th-percentile frame level) minus ``ENERGY_BELOW_PEAK_DB``, its noise floor
(10th percentile) plus ``ENERGY_ABOVE_NOISE_DB``, and ``ENERGY_FLOOR_DB``. It is exact on clean
recordings and poorer than the VAD in background noise.

Cutting happens before rendering, on both the analysis audio (``apply_trim``) and the original
file that gets muxed (``trim_file``), with the same sample-exact intervals and crossfades, so
picture and sound stay in sync.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import InputError, MediaError
from ..media.ffmpeg import run_ffmpeg
from ..media.probe import probe

log = logging.getLogger(__name__)

Span = tuple[float, float]

FRAME = 0.010  # s, VAD frame
VAD_MODE = 2  # WebRTC "aggressive" (Vad.MEDIUM_STRICT); see module docstring
VAD_PEAK_DB = -1.0  # dBFS: the VAD hears every recording peak-normalised to this ...
VAD_MAX_GAIN_DB = 30.0  # ... but no recording is raised by more than this
VAD_RATES = (8000, 16000, 32000, 48000)
VAD_RATE = 16000  # other rates are resampled to this
MIN_SPEECH = 0.060  # s: shorter runs are blips (clicks, breaths, noise)
PADDING = 0.060  # s added on each side of every speech run
ENERGY_BELOW_PEAK_DB = 35.0  # fallback detector: speech is within this of the speech peaks
ENERGY_ABOVE_NOISE_DB = 10.0  # fallback detector: and this far over the quietest tenth of frames
ENERGY_FLOOR_DB = -55.0  # fallback detector: dBFS, quieter is silence whatever the level
CROSSFADE = 0.008  # s, linear crossfade centred on every join
DEFAULT_MAX_PAUSE = 0.6
MIN_MAX_PAUSE = 0.05  # s: shorter is no pause, and joins need room for their crossfades
DEFAULT_EDGE = 0.1

Method = Literal["auto", "vad", "energy"]


# --- detection -------------------------------------------------------------------------------


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Linear resampling, after a windowed-sinc low-pass when going down (good enough for a VAD)."""
    x = samples.astype(np.float64)
    if target < rate:
        cutoff = 0.45 * target / rate
        taps = np.arange(-32, 33)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
        x = np.convolve(x, kernel / kernel.sum(), mode="same")
    count = int(round(len(x) * target / rate))
    return np.interp(np.arange(count) * rate / target, np.arange(len(x)), x)


def _vad_gain(samples: np.ndarray) -> float:
    """Gain bringing the peak to VAD_PEAK_DB (at most VAD_MAX_GAIN_DB): the VAD's thresholds are absolute."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak <= 0.0:
        return 1.0
    return float(min(10 ** (VAD_PEAK_DB / 20) / peak, 10 ** (VAD_MAX_GAIN_DB / 20)))


def _vad_pass(pcm: np.ndarray, rate: int) -> np.ndarray:
    """One PocketSphinx VAD pass over int16 `pcm` (a whole number of frames): speech flag per frame."""
    from pocketsphinx import Vad

    vad = Vad(VAD_MODE, rate, FRAME)
    step = vad.frame_bytes // 2
    return np.fromiter(
        (vad.is_speech(pcm[i : i + step].tobytes()) for i in range(0, len(pcm), step)),
        dtype=bool,
        count=len(pcm) // step,
    )


def _vad_mask(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Per-frame speech flags (forward AND backward pass) and the frame hop in seconds."""
    rate = sample_rate if sample_rate in VAD_RATES else VAD_RATE
    x = samples if rate == sample_rate else _resample(samples, sample_rate, rate)
    x = x * _vad_gain(x)
    step = int(round(FRAME * rate))
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    pcm = np.pad(pcm, (0, -len(pcm) % step))
    forward = _vad_pass(pcm, rate)
    backward = _vad_pass(pcm[::-1].copy(), rate)[::-1]
    return forward & backward, step / rate


def _energy_mask(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Per-frame speech flags from frame level relative to the recording's speech peaks."""
    step = max(1, int(round(FRAME * sample_rate)))
    x = np.pad(samples.astype(np.float64), (0, -len(samples) % step)).reshape(-1, step)
    level = 10 * np.log10((x**2).mean(axis=1) + 1e-12)
    peak = float(np.percentile(level, 99))
    noise = float(np.percentile(level, 10))
    threshold = max(peak - ENERGY_BELOW_PEAK_DB, noise + ENERGY_ABOVE_NOISE_DB, ENERGY_FLOOR_DB)
    return level > threshold, step / sample_rate


def _runs(mask: np.ndarray, hop: float) -> list[Span]:
    """(start, end) seconds of each run of True frames."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(round(float(s * hop), 6), round(float(e * hop), 6)) for s, e in zip(starts, ends)]


def _pad_and_merge(runs: Sequence[Span], duration: float) -> list[Span]:
    """Drop runs under MIN_SPEECH, widen the rest by PADDING, merge overlaps, clip to the clip."""
    kept = [
        (start - PADDING, end + PADDING) for start, end in runs if end - start >= MIN_SPEECH - 1e-9
    ]
    return [(round(start, 6), round(end, 6)) for start, end in _clip_spans(kept, duration)]


def _vad_available() -> bool:
    """Whether PocketSphinx (and so its VAD) imports here."""
    try:
        from pocketsphinx import Vad  # noqa: F401
    except ImportError:
        return False
    return True


def speech_spans(samples: np.ndarray, sample_rate: int, *, method: Method = "auto") -> list[Span]:
    """Speech spans in seconds, each widened by PADDING; blips under MIN_SPEECH dropped.

    `method` "auto" uses the PocketSphinx VAD when it imports, else the energy detector.
    """
    if samples.ndim != 1:
        raise ValueError(f"speech_spans wants mono samples, got shape {samples.shape}")
    if sample_rate < 8000:
        raise ValueError(f"speech_spans needs at least 8 kHz audio, got {sample_rate} Hz")
    if len(samples) == 0:
        return []
    if method == "auto":
        method = "vad" if _vad_available() else "energy"
        if method == "energy":
            log.warning(
                "pocketsphinx is not installed; finding speech by loudness instead of its VAD"
            )
    mask, hop = (
        _vad_mask(samples, sample_rate) if method == "vad" else _energy_mask(samples, sample_rate)
    )
    return _pad_and_merge(_runs(mask, hop), len(samples) / sample_rate)


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimPlan:
    """Which parts of the source to keep.

    intervals: kept source intervals (start, end) in seconds, in order, not touching.
    duration: length of the trimmed output in seconds (the sum of the intervals' lengths).
    """

    intervals: tuple[Span, ...]
    duration: float

    def __post_init__(self) -> None:
        ends = [edge for interval in self.intervals for edge in interval]
        if not self.intervals or ends[0] < 0 or any(b <= a for a, b in zip(ends, ends[1:])):
            raise ValueError(
                f"trim intervals must be non-empty, ordered and apart: {self.intervals}"
            )
        if abs(self.duration - sum(end - start for start, end in self.intervals)) > 1e-6:
            raise ValueError(f"trim plan duration {self.duration} is not the sum of its intervals")

    @property
    def cuts(self) -> int:
        """Joins in the output (one fewer than the intervals)."""
        return max(0, len(self.intervals) - 1)

    def output_time(self, source_time: float) -> float:
        """Where a moment of the source lands in the output (cut moments land on the join)."""
        out = 0.0
        for start, end in self.intervals:
            if source_time < end:
                return out + max(0.0, source_time - start)
            out += end - start
        return out


def _gaps(spans: Sequence[Span], total: float) -> list[Span]:
    """Silences before, between and after `spans`, (start, end) in seconds."""
    gaps, cursor = [], 0.0
    for start, end in spans:
        gaps.append((cursor, start))
        cursor = end
    gaps.append((cursor, total))
    return gaps


def plan_trim(
    spans: Sequence[Span],
    total_duration: float,
    max_pause: float = DEFAULT_MAX_PAUSE,
    edge: float = DEFAULT_EDGE,
) -> TrimPlan:
    """Keep `edge` s of silence before the first and after the last span, and shorten every pause
    longer than `max_pause` to exactly `max_pause` by removing its middle (the first and last
    max_pause/2 of the pause stay, so breaths and releases next to the words survive).

    No spans (nothing but silence) keeps the whole clip.
    """
    if max_pause < MIN_MAX_PAUSE:
        raise InputError(f"--max-pause must be at least {MIN_MAX_PAUSE:g} s, got {max_pause:g}")
    if edge < 0:
        raise InputError(f"the silence kept at the ends must be 0 s or more, got {edge:g}")
    if total_duration <= 0:
        raise ValueError(f"total_duration must be above 0 s, got {total_duration}")
    merged = _clip_spans(spans, total_duration)
    if not merged:
        return TrimPlan(((0.0, total_duration),), total_duration)
    gaps = _gaps(merged, total_duration)
    keep_from = max(0.0, merged[0][0] - edge)
    keep_to = min(total_duration, merged[-1][1] + edge)
    intervals: list[Span] = []
    start = keep_from
    for gap_start, gap_end in gaps[1:-1]:
        if gap_end - gap_start > max_pause + 1e-6:  # float noise is no pause to shorten
            intervals.append((start, gap_start + max_pause / 2))
            start = gap_end - max_pause / 2
    intervals.append((start, keep_to))
    return TrimPlan(tuple(intervals), sum(end - begin for begin, end in intervals))


def _clip_spans(spans: Sequence[Span], total: float) -> list[Span]:
    """Spans sorted, clipped to [0, total], overlaps merged, empty ones dropped."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        start, end = max(0.0, start), min(total, end)
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# --- cutting ---------------------------------------------------------------------------------


def _sample_bounds(plan: TrimPlan, sample_rate: int) -> list[tuple[int, int]]:
    """The plan's intervals in whole samples (rounded; the same rounding for every cutter)."""
    return [(int(round(s * sample_rate)), int(round(e * sample_rate))) for s, e in plan.intervals]


def _crossfade_samples(sample_rate: int) -> int:
    """CROSSFADE in samples (at least two)."""
    return max(2, int(round(CROSSFADE * sample_rate)))


def apply_trim(samples: np.ndarray, sample_rate: int, plan: TrimPlan) -> np.ndarray:
    """Cut `samples` (time on axis 0) to the plan, with a linear crossfade centred on each join.

    Each side of a join is extended by half a crossfade into the removed audio and the two are
    overlap-added, so the output is exactly the sum of the intervals' sample counts.
    """
    bounds = _sample_bounds(plan, sample_rate)
    fade = _crossfade_samples(sample_rate)
    half = fade // 2
    out_len = sum(e - s for s, e in bounds)
    out = np.zeros((out_len, *samples.shape[1:]), dtype=np.float64)
    ramp = ((np.arange(fade) + 0.5) / fade).reshape(-1, *([1] * (samples.ndim - 1)))
    cursor = 0
    for index, (start, end) in enumerate(bounds):
        lead = half if index > 0 else 0
        tail = fade - half if index < len(bounds) - 1 else 0
        piece = _source_slice(samples, start - lead, end + tail)
        if lead:
            piece[:fade] *= ramp
        if tail:
            piece[-fade:] *= ramp[::-1]
        begin = cursor - lead
        out[begin : begin + len(piece)] += piece
        cursor += end - start
    return out.astype(samples.dtype, copy=False)


def _source_slice(samples: np.ndarray, start: int, end: int) -> np.ndarray:
    """samples[start:end] as float64, zero-filled where it runs past either end."""
    piece = np.zeros((end - start, *samples.shape[1:]), dtype=np.float64)
    lo, hi = max(start, 0), min(end, len(samples))
    if hi > lo:
        piece[lo - start : hi - start] = samples[lo:hi]
    return piece


def trim_filter(plan: TrimPlan, sample_rate: int) -> str:
    """ffmpeg filter graph cutting input 0's first audio stream to the plan, output label [trimmed].

    The same sample bounds and centred linear crossfades as `apply_trim` (acrossfade overlaps
    each pair by one crossfade, which the half-crossfade extensions pay for).
    """
    bounds = _sample_bounds(plan, sample_rate)
    fade = _crossfade_samples(sample_rate)
    half = fade // 2
    count = len(bounds)
    if count == 1:
        start, end = bounds[0]
        return f"[0:a:0]atrim=start_sample={start}:end_sample={end},asetpts=N/SR/TB[trimmed]"
    parts = [f"[0:a:0]asplit={count}" + "".join(f"[s{i}]" for i in range(count))]
    for index, (start, end) in enumerate(bounds):
        lead = half if index > 0 else 0
        tail = fade - half if index < count - 1 else 0
        parts.append(
            f"[s{index}]atrim=start_sample={start - lead}:end_sample={end + tail},asetpts=N/SR/TB[p{index}]"
        )
    joined = "p0"
    for index in range(1, count):  # pairwise, as older ffmpeg's acrossfade takes two inputs only
        label = "trimmed" if index == count - 1 else f"x{index}"
        parts.append(f"[{joined}][p{index}]acrossfade=ns={fade}:c1=tri:c2=tri[{label}]")
        joined = label
    return ";".join(parts)


def trim_file(ffmpeg: str, source: Path, target: Path, plan: TrimPlan) -> None:
    """Cut the original audio of `source` to the plan, writing 16-bit PCM WAV at its own rate and
    channel count to `target` (the track to mux); check it lasts `plan.duration`, within 1 ms per cut + 1."""
    info = probe(ffmpeg, source)
    if info.audio is None or info.audio.sample_rate is None:
        raise InputError(f"AUDIO {source} has no audio track to trim; give a file with sound in it")
    rate = info.audio.sample_rate
    args = [
        "-i", str(source), "-filter_complex", trim_filter(plan, rate), "-map", "[trimmed]",
        "-c:a", "pcm_s16le", "-ar", str(rate), "-f", "wav", "-y", str(target),
    ]  # fmt: skip
    run_ffmpeg(ffmpeg, args, what=f"trimming silence from {source.name}")
    frames, written_rate = wav_frames(target)
    duration = frames / written_rate
    tolerance = 0.001 * (plan.cuts + 1)
    if abs(duration - plan.duration) > tolerance:
        raise MediaError(
            f"trimming {source.name} gave {duration:.4f} s of audio, expected {plan.duration:.4f} s; "
            "the picture would drift from the sound (run without --trim-silence to avoid it)"
        )


def wav_frames(path: Path) -> tuple[int, int]:
    """(sample frames, sample rate) of a PCM WAV file, read from its RIFF chunks."""
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            raise MediaError(f"{path} is not a WAV file")
        rate = block = None
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                raise MediaError(f"{path} has no data chunk")
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"fmt ":
                fmt = handle.read(size + (size & 1))
                rate, block = struct.unpack("<I", fmt[4:8])[0], struct.unpack("<H", fmt[12:14])[0]
            elif name == b"data":
                if not rate or not block:
                    raise MediaError(f"{path} has its data before its format")
                return size // block, rate
            else:
                handle.seek(size + (size & 1), 1)
