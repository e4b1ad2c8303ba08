"""Every audio option on every kind of input: the video has sound, and sound and picture are in sync.

Inputs cover channel layouts (mono, stereo, 5.1, a WAV with no layout), sample rates (8 to
96 kHz), sample formats (s16, s24, f32) and containers (wav, mp3, m4a, opus, flac, a video's
sound track); options are none, --trim-silence and --normalize-loudness, and --text with each.
`.ci/run` runs this file again on other ffmpeg releases through $LIPSYNC_FFMPEG.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lipsync_tool import Renderer, RenderRequest, evaluate
from lipsync_tool.evaluation.tracking import FaceFollower
from lipsync_tool.media.audio import decode_speech
from lipsync_tool.media.loudness import measure_loudness
from lipsync_tool.media.probe import probe
from lipsync_tool.speech.espeak import EspeakSynthesizer

from .conftest import write_wav
from .inputs_helpers import run_ffmpeg_to, video_with_audio

FPS = 25.0
TARGET_LUFS = -16.0
SENTENCE = "Bob bought a map, Pam."
PAD_SECONDS = 0.5  # silence either side, for --trim-silence to cut

# name -> (file name, ffmpeg output arguments applied to the 16 kHz mono reference)
KINDS: dict[str, tuple[str, list[str]]] = {
    "mono 16 kHz s16 wav": ("mono.wav", []),
    "stereo 44.1 kHz wav": ("stereo.wav", ["-ac", "2", "-ar", "44100"]),
    "5.1 48 kHz wav": ("surround.wav", ["-af", "pan=5.1|FC=c0", "-ar", "48000"]),
    "8 kHz wav": ("tel.wav", ["-ar", "8000"]),
    "22.05 kHz wav": ("r22.wav", ["-ar", "22050"]),
    "96 kHz wav": ("r96.wav", ["-ar", "96000"]),
    "s24 wav": ("s24.wav", ["-c:a", "pcm_s24le", "-ar", "48000"]),
    "f32 wav": ("f32.wav", ["-c:a", "pcm_f32le", "-ac", "2"]),
    "mp3": ("speech.mp3", ["-c:a", "libmp3lame", "-b:a", "64k", "-ar", "44100"]),
    "m4a": ("speech.m4a", ["-c:a", "aac", "-b:a", "96k", "-ar", "44100"]),
    "opus": ("speech.opus", ["-c:a", "libopus", "-b:a", "48k"]),
    "flac": ("speech.flac", ["-c:a", "flac", "-ar", "48000"]),
}
LAYOUTLESS = "3-channel wav with no layout"
VIDEO_TRACK = "a video's sound track"
OPTIONS: dict[str, dict[str, object]] = {
    "none": {},
    "trim": {"trim_silence": True},
    "normalize": {"normalize_loudness": TARGET_LUFS},
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> dict[str, Path]:
    """The reference sentence in every kind of input, plus the portrait (key "portrait")."""
    import matplotlib.cbook

    folder = tmp_path_factory.mktemp("matrix")
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        head = Image.open(handle).convert("RGB").crop((96, 40, 416, 400))  # small frames: fast
    head.save(folder / "portrait.png")
    speech = EspeakSynthesizer().synthesize(SENTENCE, voice="en-us")
    pad = np.zeros(int(PAD_SECONDS * speech.sample_rate), np.float32)
    samples = np.concatenate([pad, speech.samples, pad])
    reference = write_wav(folder / "reference.wav", samples, rate=speech.sample_rate)
    made = {"portrait": folder / "portrait.png"}
    for name, (file_name, args) in KINDS.items():
        made[name] = run_ffmpeg_to(ffmpeg, folder / file_name, "-i", str(reference), *args)
    made[LAYOUTLESS] = _layoutless_wav(reference, folder / "layoutless.wav")
    made[VIDEO_TRACK] = video_with_audio(ffmpeg, reference, folder / "clip.mp4")
    return made


def _layoutless_wav(reference: Path, path: Path) -> Path:
    """A plain-PCM WAV (no channel mask) with 3 channels, the speech on the first, quiet hiss on the others."""
    with wave.open(str(reference)) as handle:
        mono = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
        rate = handle.getframerate()
    hiss = np.random.default_rng(0).normal(0, 20, (len(mono), 2))
    pcm = np.column_stack([mono, hiss]).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(3)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


@pytest.fixture(scope="module")
def renderer() -> Iterator[Renderer]:
    yield Renderer("warp")


@pytest.fixture(scope="module")
def follower() -> FaceFollower:
    return FaceFollower()


def _check(
    renderer: Renderer,
    follower: FaceFollower,
    ffmpeg: str,
    request: RenderRequest,
    what: str,
) -> None:
    result = renderer.render(request)
    info = probe(ffmpeg, request.output)
    assert info.audio is not None and info.video is not None, f"{what}: a stream is missing"
    sound = decode_speech(ffmpeg, request.output, max_duration=60).duration
    assert abs(sound - result.frames / FPS) <= 1 / FPS, f"{what}: {sound:.3f} s of sound"
    report = evaluate(request.output, follower=follower, max_height=360)
    assert report.sync is not None, what
    assert abs(report.sync.lag_frames) <= 1 and report.sync.r > 0.4, (
        f"{what}: lag {report.sync.lag_frames} frames, r {report.sync.r:.2f}"
    )
    if request.normalize_loudness is not None:
        measured = measure_loudness(ffmpeg, request.output)
        assert abs(measured - TARGET_LUFS) <= 1.0, f"{what}: {measured:.1f} LUFS"


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("kind", [*KINDS, LAYOUTLESS, VIDEO_TRACK])
def test_audio_input_kind_with_option(
    kind: str,
    option: str,
    inputs: dict[str, Path],
    renderer: Renderer,
    follower: FaceFollower,
    ffmpeg: str,
    tmp_path: Path,
) -> None:
    request = RenderRequest(
        portrait=inputs["portrait"],
        audio=inputs[kind],
        output=tmp_path / "out.mp4",
        upscale=False,
        visemes="acoustic",
        seed=1,
        **OPTIONS[option],  # type: ignore[arg-type]
    )
    _check(renderer, follower, ffmpeg, request, f"{kind}, {option}")


@pytest.mark.parametrize("option", list(OPTIONS))
def test_text_with_option(
    option: str,
    inputs: dict[str, Path],
    renderer: Renderer,
    follower: FaceFollower,
    ffmpeg: str,
    tmp_path: Path,
) -> None:
    request = RenderRequest(
        portrait=inputs["portrait"],
        text=SENTENCE,
        output=tmp_path / "out.mp4",
        upscale=False,
        seed=1,
        **OPTIONS[option],  # type: ignore[arg-type]
    )
    _check(renderer, follower, ffmpeg, request, f"--text, {option}")
