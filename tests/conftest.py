"""Shared fixtures: real portraits from installed packages, synthetic speech with known timing."""

from __future__ import annotations

import logging
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.media.ffmpeg import find_ffmpeg

from .core_deps import check_core_dependencies

SPEECH_RATE = 16000


def pytest_configure(config: pytest.Config) -> None:
    """A missing core dependency fails the whole run here instead of skipping its tests."""
    check_core_dependencies()


def speech_like(
    duration: float, voiced: list[tuple[float, float]], rate: int = SPEECH_RATE, seed: int = 0
) -> np.ndarray:
    """A vowel-like harmonic signal with syllable-rate loudness inside `voiced` (start, end) spans, silence elsewhere."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration * rate))) / rate
    envelope = np.zeros_like(t)
    for start, end in voiced:
        inside = (t >= start) & (t < end)
        syllables = np.abs(np.sin(np.pi * 4.0 * (t[inside] - start)))  # 4 syllables a second
        envelope[inside] = 0.03 + 0.97 * syllables**1.5
    f0 = 140 + 25 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    formants = sum(
        np.sin(k * phase) * (1.0 / k) * (1.6 if k in (3, 4, 8) else 1.0) for k in range(1, 20)
    )
    signal = formants * envelope + rng.normal(0, 1e-4, len(t))
    return (signal / np.max(np.abs(signal)) * 0.5).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = SPEECH_RATE, channels: int = 1) -> Path:
    """Write float samples as 16-bit PCM WAV (duplicated into `channels`)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


ENGLISH_SENTENCE = "Hello, my name is Bob. We buy blue boots and warm hats."
PAD = 1.0


class PaddedSpeech:
    """eSpeak speech with PAD seconds of silence either side, at 16 kHz, and its true phoneme events."""

    def __init__(self, speech: object) -> None:
        from lipsync_tool.speech.espeak import Speech

        assert isinstance(speech, Speech)
        rate = speech.sample_rate
        padded = np.concatenate(
            [
                np.zeros(int(PAD * rate), np.float32),
                speech.samples,
                np.zeros(int(PAD * rate), np.float32),
            ]
        )
        t_new = np.arange(int(len(padded) / rate * SPEECH_RATE)) / SPEECH_RATE
        self.samples_16k = np.interp(t_new, np.arange(len(padded)) / rate, padded).astype(
            np.float32
        )
        self.events = [(e.phoneme, e.ipa, e.start + PAD, e.end + PAD) for e in speech.events]
        self.speech_span = (PAD, PAD + speech.duration)
        self.duration = len(self.samples_16k) / SPEECH_RATE


def padded_tts(text: str, voice: str) -> PaddedSpeech:
    from lipsync_tool.speech.espeak import EspeakSynthesizer

    return PaddedSpeech(EspeakSynthesizer().synthesize(text, voice=voice))


@pytest.fixture(scope="session")
def english() -> PaddedSpeech:
    """The English sentence of `speech.wav`, with its true phoneme timings."""
    return padded_tts(ENGLISH_SENTENCE, "en-us")


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return find_ffmpeg()


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the package-shipped portraits and a few synthetic speech files."""
    import matplotlib.cbook
    import skimage.data

    folder = tmp_path_factory.mktemp("assets")
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        (folder / "grace_hopper.jpg").write_bytes(handle.read())
    # 4 s: silence 0-1 s, speech-like bursts 1-3 s, silence 3-4 s (for the acoustic path).
    write_wav(folder / "bursts.wav", speech_like(4.0, [(1.0, 3.0)]))
    # Real English speech from eSpeak NG, with a second of silence either side.
    write_wav(folder / "speech.wav", padded_tts(ENGLISH_SENTENCE, "en-us").samples_16k)
    write_wav(folder / "silence.wav", np.zeros(SPEECH_RATE * 2, np.float32))
    return folder


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    """skimage's astronaut photo (512x512 RGB): one clear frontal face."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


@pytest.fixture()
def workdir(tmp_path: Path, assets: Path) -> Path:
    """A fresh folder holding copies of the assets (tests may write beside them)."""
    for item in assets.iterdir():
        shutil.copy(item, tmp_path / item.name)
    return tmp_path


@pytest.fixture(autouse=True)
def package_logger_as_found() -> object:
    """cli.main() configures the `lipsync_tool` logger globally (own handler, no propagation); undo it.

    The logger is also reset to the library default before each test, so caplog sees our records
    even when an earlier test module left the CLI's configuration behind.
    """
    logger = logging.getLogger("lipsync_tool")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers[:], logger.level, logger.propagate = [], logging.NOTSET, True
    yield
    logger.handlers[:], logger.level, logger.propagate = saved
