"""Loudness: EBU R128 measurement, and a gain (with a limiter when peaks demand it) to a target within 1 LU."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from lipsync_tool.errors import InputError, MediaError
from lipsync_tool.media.loudness import check_target, loudness_filter, measure_loudness

from .conftest import speech_like, write_wav

RATE = 44100
SOURCE_LUFS = -30.0


def _pinkish(seconds: float, rate: int, seed: int = 3) -> np.ndarray:
    """Pink noise whose level swings slowly (a few dB, like speech phrases), peak 0.5."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    spectrum = np.fft.rfft(rng.normal(size=n))
    pink = np.fft.irfft(spectrum / np.sqrt(np.maximum(np.arange(len(spectrum)), 1)), n)
    t = np.arange(n) / rate
    signal = pink * (0.6 + 0.4 * np.sin(2 * np.pi * 0.8 * t))
    return (signal / np.max(np.abs(signal)) * 0.5).astype(np.float32)


def _at_lufs(
    ffmpeg: str, path: Path, samples: np.ndarray, rate: int, channels: int, lufs: float
) -> Path:
    """Write `samples` scaled so the file measures `lufs`."""
    write_wav(path, samples, rate=rate, channels=channels)
    gain = 10 ** ((lufs - measure_loudness(ffmpeg, path)) / 20)
    return write_wav(path, samples * gain, rate=rate, channels=channels)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """-30 LUFS sources: stereo pink-ish noise at 44.1 kHz, and mono speech-like bursts at 16 kHz."""
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    ffmpeg, folder = find_ffmpeg(), tmp_path_factory.mktemp("loudness")
    return {
        "noise": _at_lufs(ffmpeg, folder / "noise.wav", _pinkish(4.0, RATE), RATE, 2, SOURCE_LUFS),
        "speech": _at_lufs(
            ffmpeg, folder / "speech.wav", speech_like(4.0, [(0.5, 3.5)]), 16000, 1, SOURCE_LUFS
        ),
        # shorter than loudnorm's 3 s dynamic window, and too peaky for a linear gain to -16
        "short": _at_lufs(ffmpeg, folder / "short.wav", _clicks(1.7, 22050), 22050, 1, SOURCE_LUFS),
    }


def _clicks(seconds: float, rate: int) -> np.ndarray:
    """Quiet speech-like sound with a few loud clicks: its peaks cap any linear gain."""
    samples = speech_like(seconds, [(0.1, seconds - 0.1)], rate=rate) * 0.2
    samples[np.arange(3, 9) * (len(samples) // 10)] = 0.9
    return samples


def test_sine_reference_level(ffmpeg: str, tmp_path: Path) -> None:
    """BS.1770: a 1 kHz sine at -20 dBFS on one channel reads -23.0 LUFS (K-weighting is ~0 dB at 1 kHz)."""
    t = np.arange(RATE * 3) / RATE
    path = write_wav(
        tmp_path / "sine.wav",
        (10 ** (-20 / 20) * np.sin(2 * np.pi * 1000 * t)).astype(np.float32),
        RATE,
    )
    assert measure_loudness(ffmpeg, path) == pytest.approx(-23.0, abs=0.2)


def test_sources_measure_minus_30(ffmpeg: str, sources: dict[str, Path]) -> None:
    for path in sources.values():
        assert measure_loudness(ffmpeg, path) == pytest.approx(SOURCE_LUFS, abs=0.3)


@pytest.mark.parametrize("target", [-16.0, -23.0])
@pytest.mark.parametrize("kind", ["noise", "speech", "short"])
def test_normalised_to_target(
    ffmpeg: str, sources: dict[str, Path], tmp_path: Path, kind: str, target: float
) -> None:
    source = sources[kind]
    audio_filter = loudness_filter(ffmpeg, source, target)
    if kind == "short":  # no linear gain reaches the target under the peak ceiling
        assert audio_filter.startswith("volume=") and "alimiter=" in audio_filter
    else:
        assert audio_filter.startswith("volume=") and "alimiter" not in audio_filter
    out = tmp_path / "normalised.wav"
    subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-y", "-i", str(source), "-af", audio_filter, str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    measured = measure_loudness(ffmpeg, out)
    (tmp_path / "loudness.json").write_text(
        json.dumps({"filter": audio_filter, "target": target, "measured": measured})
    )
    assert abs(measured - target) <= 1.0
    with wave.open(str(source), "rb") as before, wave.open(str(out), "rb") as after:
        assert after.getframerate() == before.getframerate()  # the rate is kept
        assert abs(after.getnframes() - before.getnframes()) <= 1
        peak = np.abs(np.frombuffer(after.readframes(after.getnframes()), "<i2")).max() / 32768
    assert 20 * np.log10(peak) <= -1.0, "peaks stay under the -1.5 dBTP ceiling (with margin)"


@pytest.mark.parametrize("target", [-80.0, -4.0, 0.0, float("nan")])
def test_bad_target_names_the_flag(ffmpeg: str, sources: dict[str, Path], target: float) -> None:
    with pytest.raises(InputError, match="--normalize-loudness"):
        loudness_filter(ffmpeg, sources["noise"], target)
    with pytest.raises(InputError, match="--normalize-loudness"):
        check_target(target)


def test_range_ends_are_accepted() -> None:
    assert check_target(-70) == -70.0 and check_target(-5.0) == -5.0


def test_silence(ffmpeg: str, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(16000 * 2, np.float32))
    assert measure_loudness(ffmpeg, path) == -70.0
    assert loudness_filter(ffmpeg, path) == "anull"


def test_not_audio_raises_media_error(ffmpeg: str, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not audio at all\n")
    with pytest.raises(MediaError):
        measure_loudness(ffmpeg, path)


def _ffmpegs() -> list[str]:
    """The bundled ffmpeg, and the one on PATH when there is another (Debian's 5.1, say)."""
    import shutil

    import imageio_ffmpeg

    found = [imageio_ffmpeg.get_ffmpeg_exe()]
    on_path = shutil.which("ffmpeg")
    if on_path and Path(on_path).resolve() != Path(found[0]).resolve():
        found.append(on_path)
    return found


@pytest.mark.parametrize("binary", _ffmpegs(), ids=lambda b: Path(b).name)
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_the_filter_encodes_to_aac_on_every_ffmpeg(
    binary: str, channels: int, tmp_path: Path
) -> None:
    """Measure, normalise into AAC, measure again: on target, whatever the ffmpeg and layout."""
    source = _at_lufs(binary, tmp_path / "in.wav", _pinkish(3.0, RATE), RATE, channels, -30.0)
    out = tmp_path / "out.m4a"
    command = [binary, "-hide_banner", "-nostdin", "-i", str(source)]
    command += ["-af", loudness_filter(binary, source, -16.0), "-c:a", "aac", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-800:]
    assert abs(measure_loudness(binary, out) + 16.0) < 1.0


@pytest.mark.parametrize(
    ("detail", "layout"),
    [
        ("44100 Hz, mono, s16, 705 kb/s", "mono"),
        ("48000 Hz, 5.1(side), fltp, 394 kb/s", "5.1(side)"),
        ("16000 Hz, 2 channels, s16, 512 kb/s", "stereo"),
        ("16000 Hz, 7 channels, s16", None),
        ("", None),
    ],
)
def test_channel_layout_read_from_the_report(detail: str, layout: str | None) -> None:
    from lipsync_tool.media.probe import StreamInfo

    assert StreamInfo("audio", "pcm_s16le", detail=detail).channel_layout == layout
