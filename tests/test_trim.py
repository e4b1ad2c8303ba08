"""Silence trimming: speech found on signals with known silences, pauses shortened, audio cut in sync."""

from __future__ import annotations

import json
import logging
import wave
from pathlib import Path

import numpy as np
import pytest

from lipsync_tool.errors import InputError
from lipsync_tool.speech import trim
from lipsync_tool.speech.trim import (
    PADDING,
    TrimPlan,
    apply_trim,
    plan_trim,
    speech_spans,
    trim_file,
)

from .conftest import SPEECH_RATE, PaddedSpeech, speech_like, write_wav

LEAD, BURST, SHORT_PAUSE, LONG_PAUSE, TAIL = 1.5, 0.8, 0.3, 2.0, 1.2
EDGE_TOLERANCE = 0.020  # s, at every detected edge
MAX_PAUSE, EDGE = 0.6, 0.1


def _bursts() -> list[tuple[float, float]]:
    """Three 0.8 s bursts: 1.5 s lead, 0.3 s pause, 2.0 s pause, 1.2 s tail."""
    first = (LEAD, LEAD + BURST)
    second = (first[1] + SHORT_PAUSE, first[1] + SHORT_PAUSE + BURST)
    third = (second[1] + LONG_PAUSE, second[1] + LONG_PAUSE + BURST)
    return [first, second, third]


TOTAL = _bursts()[-1][1] + TAIL


def _signal(rate: int = SPEECH_RATE) -> np.ndarray:
    return speech_like(TOTAL, _bursts(), rate=rate)


def _unpadded(spans: list[tuple[float, float]], total: float) -> list[tuple[float, float]]:
    """Undo the documented PADDING (where it was not clipped by the ends of the clip)."""
    return [(s + PADDING if s > 0 else s, e - PADDING if e < total else e) for s, e in spans]


def _edge_errors(found: list[tuple[float, float]], truth: list[tuple[float, float]]) -> list[float]:
    return [abs(a - b) for f, t in zip(found, truth) for a, b in zip(f, t)]


def _save(tmp_path: Path, name: str, data: object) -> None:
    """Leave the measurement beside the test for a failing run."""
    (tmp_path / f"{name}.json").write_text(json.dumps(data, indent=1))


def _expected_duration() -> float:
    """Edge + padded first two bursts with their short pause + max pause + padded last burst + edge."""
    return EDGE + (2 * BURST + SHORT_PAUSE + 2 * PADDING) + MAX_PAUSE + (BURST + 2 * PADDING) + EDGE


@pytest.mark.parametrize("method", ["vad", "energy"])
def test_spans_match_synthetic_bursts(method: str, tmp_path: Path) -> None:
    spans = speech_spans(_signal(), SPEECH_RATE, method=method)
    _save(tmp_path, "spans", {"found": spans, "truth": _bursts()})
    assert len(spans) == 3
    assert max(_edge_errors(_unpadded(spans, TOTAL), _bursts())) <= EDGE_TOLERANCE


@pytest.mark.parametrize("rate", [22050, 48000])
def test_spans_at_other_rates(rate: int) -> None:
    spans = speech_spans(_signal(rate), rate)
    assert len(spans) == 3
    assert max(_edge_errors(_unpadded(spans, TOTAL), _bursts())) <= EDGE_TOLERANCE


def test_spans_survive_background_noise() -> None:
    """Pink noise 45 dB under the speech peaks: still three bursts, edges within 0.1 s."""
    rng = np.random.default_rng(7)
    signal = _signal()
    spectrum = np.fft.rfft(rng.normal(size=len(signal)))
    pink = np.fft.irfft(spectrum / np.sqrt(np.maximum(np.arange(len(spectrum)), 1)), len(signal))
    noisy = signal + pink / np.sqrt(np.mean(pink**2)) * 10 ** (-45 / 20)
    spans = speech_spans(noisy.astype(np.float32), SPEECH_RATE)
    assert len(spans) == 3
    assert max(_edge_errors(_unpadded(spans, TOTAL), _bursts())) <= 0.1


def test_blips_are_dropped() -> None:
    """A 40 ms click-like tone burst alone in the silence is not speech."""
    signal = _signal()
    blip = slice(int(0.5 * SPEECH_RATE), int(0.54 * SPEECH_RATE))
    signal[blip] = 0.4 * np.sin(2 * np.pi * 300 * np.arange(blip.stop - blip.start) / SPEECH_RATE)
    for method in ("vad", "energy"):
        assert len(speech_spans(signal, SPEECH_RATE, method=method)) == 3


def test_silence_and_empty_have_no_speech() -> None:
    assert speech_spans(np.zeros(SPEECH_RATE * 2, np.float32), SPEECH_RATE) == []
    assert speech_spans(np.zeros(0, np.float32), SPEECH_RATE) == []
    plan = plan_trim([], 2.0)
    assert plan.intervals == ((0.0, 2.0),) and plan.duration == 2.0


def test_energy_fallback_without_pocketsphinx(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(trim, "_vad_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="lipsync_tool.speech.trim"):
        spans = speech_spans(_signal(), SPEECH_RATE)
    assert spans == speech_spans(_signal(), SPEECH_RATE, method="energy")
    assert "pocketsphinx" in caplog.text


def test_plan_shortens_long_pause_and_keeps_short_one(tmp_path: Path) -> None:
    spans = speech_spans(_signal(), SPEECH_RATE)
    plan = plan_trim(spans, TOTAL, max_pause=MAX_PAUSE, edge=EDGE)
    _save(
        tmp_path, "plan", {"spans": spans, "intervals": plan.intervals, "duration": plan.duration}
    )
    assert abs(plan.duration - _expected_duration()) <= EDGE_TOLERANCE
    assert plan.duration == pytest.approx(sum(e - s for s, e in plan.intervals))
    assert len(plan.intervals) == 2  # one cut, in the long pause
    first, second, third = _bursts()
    # Between padded spans the 2.0 s pause is now exactly max_pause; between the bursts themselves
    # it also holds the padding. The 0.3 s pause is untouched.
    assert plan.output_time(spans[2][0]) - plan.output_time(spans[1][1]) == pytest.approx(MAX_PAUSE)
    long_pause = plan.output_time(third[0]) - plan.output_time(second[1])
    assert abs(long_pause - (MAX_PAUSE + 2 * PADDING)) <= EDGE_TOLERANCE
    assert plan.output_time(second[0]) - plan.output_time(first[1]) == pytest.approx(SHORT_PAUSE)
    # The lead and tail are down to EDGE of silence beyond the padded speech.
    assert plan.output_time(first[0]) == pytest.approx(EDGE + PADDING, abs=EDGE_TOLERANCE)
    assert plan.duration - plan.output_time(third[1]) == pytest.approx(
        EDGE + PADDING, abs=EDGE_TOLERANCE
    )


def test_plan_keeps_both_ends_of_a_long_pause() -> None:
    """The middle of a long pause goes: max_pause/2 stays after the words and max_pause/2 before."""
    plan = plan_trim([(1.0, 2.0), (5.0, 6.0)], 8.0, max_pause=0.6, edge=0.1)
    assert np.allclose(plan.intervals, [(0.9, 2.3), (4.7, 6.1)])
    assert plan.duration == pytest.approx(2.8)


def test_plan_edges_clip_to_the_clip_and_overlaps_merge() -> None:
    plan = plan_trim([(0.02, 1.0), (0.9, 1.5), (1.6, 2.95)], 3.0, edge=0.1)
    assert np.allclose(plan.intervals, [(0.0, 3.0)])
    pause_exactly_max = plan_trim([(1.0, 2.0), (2.6, 3.0)], 4.0, max_pause=0.6, edge=0.0)
    assert len(pause_exactly_max.intervals) == 1


def test_plan_rejects_bad_settings() -> None:
    with pytest.raises(InputError, match="--max-pause"):
        plan_trim([(1.0, 2.0)], 3.0, max_pause=0.0)
    with pytest.raises(InputError):
        plan_trim([(1.0, 2.0)], 3.0, edge=-0.1)


def test_plan_is_json_serialisable() -> None:
    plan = plan_trim([(1.0, 2.0), (5.0, 6.0)], 8.0)
    from dataclasses import FrozenInstanceError, asdict

    assert json.loads(json.dumps(asdict(plan)))["duration"] == pytest.approx(plan.duration)
    with pytest.raises(FrozenInstanceError):
        plan.duration = 0.0  # type: ignore[misc]


def test_apply_trim_length_content_and_no_clicks(tmp_path: Path) -> None:
    signal = _signal()
    plan = plan_trim(speech_spans(signal, SPEECH_RATE), TOTAL)
    trimmed = apply_trim(signal, SPEECH_RATE, plan)
    assert trimmed.dtype == signal.dtype
    assert abs(len(trimmed) / SPEECH_RATE - plan.duration) <= 1 / SPEECH_RATE * len(plan.intervals)
    assert abs(len(trimmed) / SPEECH_RATE - _expected_duration()) <= EDGE_TOLERANCE
    # The speech lands where the plan says: re-detected spans match the mapped bursts.
    found = _unpadded(speech_spans(trimmed, SPEECH_RATE), len(trimmed) / SPEECH_RATE)
    mapped = [(plan.output_time(s), plan.output_time(e)) for s, e in _bursts()]
    _save(tmp_path, "retrimmed", {"found": found, "mapped": mapped})
    assert len(found) == 3 and max(_edge_errors(found, mapped)) <= EDGE_TOLERANCE
    # No step at the joins larger than the signal's own largest step.
    assert np.max(np.abs(np.diff(trimmed))) <= np.max(np.abs(np.diff(signal))) + 1e-6


def test_apply_trim_crossfades_a_join_inside_a_tone() -> None:
    """Cutting through a steady tone at unrelated phases gives no click at the join."""
    rate = SPEECH_RATE
    tone = (0.5 * np.sin(2 * np.pi * 220 * np.arange(rate * 2) / rate)).astype(np.float32)
    plan = TrimPlan(((0.0, 0.5013), (1.3, 2.0)), 0.5013 + 0.7)
    out = apply_trim(tone, rate, plan)
    assert len(out) == round(0.5013 * rate) + round(0.7 * rate)
    largest_step = np.max(np.abs(np.diff(tone)))
    assert np.max(np.abs(np.diff(out))) <= 1.6 * largest_step


def test_trim_file_on_48k_stereo_matches_plan(ffmpeg: str, tmp_path: Path) -> None:
    plan = plan_trim(speech_spans(_signal(), SPEECH_RATE), TOTAL)
    rate = 48000
    source_signal = _signal(rate)
    source = write_wav(tmp_path / "speech48k.wav", source_signal, rate=rate, channels=2)
    target = tmp_path / "trimmed.wav"
    trim_file(ffmpeg, source, target, plan)
    with wave.open(str(target), "rb") as handle:
        assert (
            handle.getframerate() == rate
            and handle.getnchannels() == 2
            and handle.getsampwidth() == 2
        )
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").reshape(-1, 2)
    duration = len(pcm) / rate
    assert abs(duration - plan.duration) <= 0.001 * len(plan.intervals)
    assert abs(duration - _expected_duration()) <= EDGE_TOLERANCE
    # ffmpeg's cut is apply_trim's cut, sample for sample (up to 16-bit rounding).
    expected = apply_trim(np.round(source_signal * 32767) / 32767, rate, plan)
    assert np.max(np.abs(pcm[:, 0] / 32767 - expected)) < 2e-3
    assert np.array_equal(pcm[:, 0], pcm[:, 1])


def test_trim_file_without_cuts(ffmpeg: str, tmp_path: Path) -> None:
    source = write_wav(tmp_path / "speech.wav", _signal())
    plan = TrimPlan(((1.0, 2.5),), 1.5)
    trim_file(ffmpeg, source, tmp_path / "out.wav", plan)
    with wave.open(str(tmp_path / "out.wav"), "rb") as handle:
        assert (
            handle.getnframes() == round(1.5 * SPEECH_RATE) and handle.getframerate() == SPEECH_RATE
        )


def test_real_speech_is_trimmed_to_its_length(english: PaddedSpeech, tmp_path: Path) -> None:
    """eSpeak NG speech with 1 s of silence each side: trimmed ≈ speech + 2 × (edge + padding)."""
    spans = speech_spans(english.samples_16k, SPEECH_RATE)
    start, end = english.speech_span
    first, last = spans[0][0] + PADDING, spans[-1][1] - PADDING
    plan = plan_trim(spans, english.duration, edge=EDGE)
    trimmed = apply_trim(english.samples_16k, SPEECH_RATE, plan)
    expected = (end - start) + 2 * (EDGE + PADDING)
    _save(
        tmp_path,
        "english",
        {"spans": spans, "speech": [start, end], "duration": plan.duration, "expected": expected},
    )
    assert abs(first - start) <= 0.03 and abs(last - end) <= 0.03
    assert abs(len(trimmed) / SPEECH_RATE - expected) <= 0.060


def test_trim_plan_checks_itself() -> None:
    with pytest.raises(ValueError):
        TrimPlan(((1.0, 2.0), (1.5, 3.0)), 2.5)  # overlapping
    with pytest.raises(ValueError):
        TrimPlan(((1.0, 2.0),), 5.0)  # duration is not the intervals' sum
    with pytest.raises(ValueError):
        TrimPlan((), 0.0)


def test_spans_off_the_frame_grid() -> None:
    """Bursts starting between 10 ms VAD frames are still found within the tolerance."""
    shift = 0.0047
    bursts = [(s + shift, e + shift) for s, e in _bursts()]
    spans = speech_spans(speech_like(TOTAL + shift, bursts), SPEECH_RATE)
    assert len(spans) == 3
    assert max(_edge_errors(_unpadded(spans, TOTAL + shift), bursts)) <= EDGE_TOLERANCE
