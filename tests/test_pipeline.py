"""End to end on real portraits: the finished file's format, its timing, and the mouth measured on its frames."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lipsync_tool
from lipsync_tool.face.analyzer import FaceAnalyzer
from lipsync_tool.face.measure import mouth_opening
from lipsync_tool.media.frames import iter_frames
from lipsync_tool.media.probe import probe

from .conftest import PaddedSpeech, speech_like, write_wav
from .local_services import default_sigint

FPS = 25


def mouth_track(ffmpeg: str, video: Path, height: int = 540) -> np.ndarray:
    """Mouth opening (inner-lip gap / face height) on every frame, measured by the face mesh."""
    analyzer = FaceAnalyzer()
    frames = iter_frames(ffmpeg, video, height=height)
    first = next(frames)
    box = analyzer.analyze(
        first
    ).box  # one box for all frames: identical frames measure identically
    return np.array(
        [mouth_opening(analyzer.mesh.landmarks(f, box).points) for f in (first, *frames)]
    )


def save_contact_sheet(ffmpeg: str, video: Path, frames: list[int], target: Path) -> None:
    """A PNG of selected frames, left beside the test's files for a person to look at."""
    from PIL import Image

    picked = [f for i, f in enumerate(iter_frames(ffmpeg, video, height=360)) if i in frames]
    sheet = np.concatenate(picked, axis=1)
    Image.fromarray(sheet).save(target)


def frames_in(span: tuple[float, float], margin: float = 0.1) -> slice:
    return slice(int((span[0] + margin) * FPS), int((span[1] - margin) * FPS))


@pytest.mark.parametrize("portrait", ["astronaut.png", "grace_hopper.jpg"])
def test_end_to_end_1080p_with_a_moving_mouth(
    workdir: Path, ffmpeg: str, portrait: str, english: PaddedSpeech
) -> None:
    out = workdir / "talk.mp4"
    result = lipsync_tool.render(workdir / portrait, workdir / "speech.wav", out, seed=1)

    info = probe(ffmpeg, out)
    assert result.output == out and out.is_file()
    assert info.video is not None and info.audio is not None
    assert info.video.codec == "h264" and "yuv420p" in info.video.detail
    assert info.audio.codec == "aac"
    assert info.video.height == 1080 and info.video.width % 2 == 0
    assert result.frame_size == (info.video.width, info.video.height)
    assert info.video.fps == FPS
    assert (
        abs(info.duration - english.duration) <= 1 / FPS + 0.03
    )  # container duration: audio and video agree
    assert result.frames == round(english.duration * FPS)

    openings = mouth_track(ffmpeg, out)
    assert len(openings) == result.frames, "every frame is in the file"
    save_contact_sheet(ffmpeg, out, [10, 40, 45, 50, 55, 60, 70, 80], workdir / "contact.png")
    (workdir / "openings.json").write_text(json.dumps(openings.round(4).tolist()))
    start, end = english.speech_span
    silent = np.r_[openings[frames_in((0.0, start))], openings[frames_in((end, english.duration))]]
    speaking = openings[frames_in((start, end))]
    summary = f"speech mean {speaking.mean():.3f} p10 {np.percentile(speaking, 10):.3f} p90 {np.percentile(speaking, 90):.3f}, silence {silent.mean():.3f}"
    assert silent.std() < 0.004, "the mouth stays still in silence"
    assert silent.mean() < 0.02, (
        "silence is a closed mouth, on the smile with teeth too: " + summary
    )
    assert np.percentile(speaking, 90) > silent.mean() + 0.012, (
        "vowels open the mouth beyond its rest: " + summary
    )
    assert np.percentile(speaking, 90) - np.percentile(speaking, 10) > 0.02, (
        "the mouth moves while speaking: " + summary
    )
    assert speaking.mean() > silent.mean() + 0.01, summary


def best_lag(openings: np.ndarray, level: np.ndarray, max_lag: int = 4) -> tuple[int, float]:
    """Lag (frames) of the best correlation between mouth opening and loudness, and that correlation."""
    a, b = openings - openings.mean(), level - level.mean()
    lags = list(range(-max_lag, max_lag + 1))
    corr = [
        np.corrcoef(np.roll(a, lag)[max_lag:-max_lag], b[max_lag:-max_lag])[0, 1] for lag in lags
    ]
    return lags[int(np.argmax(corr))], float(max(corr))


def test_acoustic_visemes_follow_the_audio_in_time(workdir: Path, ffmpeg: str) -> None:
    """On the acoustic path, mouth opening and loudness line up: the best lag is 0 frames."""
    from lipsync_tool.speech.envelope import loudness_db

    samples = speech_like(6.0, [(0.5, 2.0), (2.6, 3.2), (4.0, 5.5)], seed=3)
    audio = write_wav(workdir / "bursts.wav", samples)
    out = workdir / "bursts.mp4"
    lipsync_tool.render(
        workdir / "grace_hopper.jpg", audio, out, upscale=False, visemes="acoustic", seed=1
    )
    openings = mouth_track(ffmpeg, out, height=512)
    level = np.clip(loudness_db(samples, 16000, FPS, len(openings)), -60, None)
    lag, corr = best_lag(openings, level)
    assert lag == 0, f"best lag {lag} frames (r={corr:.2f})"
    assert corr > 0.6


def test_no_upscale_keeps_the_portrait_size(workdir: Path, ffmpeg: str) -> None:
    out = workdir / "native.mp4"
    result = lipsync_tool.render(
        workdir / "astronaut.png", workdir / "bursts.wav", out, upscale=False
    )
    info = probe(ffmpeg, out)
    assert (
        (info.video.width, info.video.height)
        == (512, 512)
        == result.frame_size
        == result.render_size
    )


@pytest.mark.parametrize(
    ("suffix", "vcodec", "acodec"),
    [(".mov", "h264", "aac"), (".mkv", "h264", "aac"), (".webm", "vp9", "opus")],
)
def test_the_extension_decides_the_container(
    workdir: Path, ffmpeg: str, suffix: str, vcodec: str, acodec: str
) -> None:
    audio = write_wav(workdir / "short.wav", speech_like(1.0, [(0.2, 0.8)]))
    out = workdir / f"clip{suffix}"
    lipsync_tool.render(workdir / "grace_hopper.jpg", audio, out, upscale=False)
    info = probe(ffmpeg, out)
    assert info.video.codec == vcodec and info.audio.codec == acodec


def test_audio_from_a_video_file_and_other_rates(workdir: Path, ffmpeg: str) -> None:
    """48 kHz stereo inside an mp4 with its own video track: the audio is what gets muxed."""
    wav = write_wav(
        workdir / "st.wav", speech_like(2.0, [(0.5, 1.5)], rate=48000), rate=48000, channels=2
    )
    source = workdir / "source.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=64x64:r=10",
            "-i",
            str(wav),
            "-shortest",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            str(source),
        ],
        check=True,
    )
    out = workdir / "from_video.mp4"
    result = lipsync_tool.render(workdir / "grace_hopper.jpg", source, out, upscale=False)
    info = probe(ffmpeg, out)
    assert abs(result.duration - 2.0) < 0.05
    assert info.audio.sample_rate == 48000 and "stereo" in info.audio.detail


def test_result_is_json_ready(workdir: Path) -> None:
    result = lipsync_tool.render(
        workdir / "grace_hopper.jpg", workdir / "silence.wav", workdir / "s.mp4", upscale=False
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["engine"] == "warp" and data["frames"] == 50 and data["faces_seen"] == 1
    assert set(data["stage_seconds"]) >= {"validate", "analysis", "render", "encode"}


def test_silence_gives_a_still_closed_mouth(workdir: Path, ffmpeg: str) -> None:
    """Silence: the mouth stays as in the portrait and nothing jumps; only a slow head drift remains."""
    out = workdir / "quiet.mp4"
    lipsync_tool.render(
        workdir / "grace_hopper.jpg", workdir / "silence.wav", out, upscale=False, blink=False
    )
    openings = mouth_track(ffmpeg, out, height=512)
    assert openings.std() < 0.002 and openings.mean() < 0.02
    frames = [f.astype(np.int16) for f in iter_frames(ffmpeg, out)]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert max(steps) < 1.5, "no frame-to-frame jumps"


def test_a_failure_mid_render_leaves_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception from inside the render (here: the progress callback) removes the partial file and temp dir."""
    import tempfile

    out = workdir / "never.mp4"
    private_tmp = workdir / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))

    def explode(stage: str, done: int, total: int | None) -> None:
        if done == 20:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        lipsync_tool.render(
            workdir / "astronaut.png", workdir / "bursts.wav", out, progress=explode
        )
    assert not out.exists()
    assert not list(workdir.glob(".*partial*"))
    assert list(private_tmp.iterdir()) == []


def test_keep_temp_keeps_and_reports_the_work_dir(workdir: Path) -> None:
    result = lipsync_tool.render(
        workdir / "grace_hopper.jpg",
        workdir / "silence.wav",
        workdir / "k.mp4",
        keep_temp=True,
        upscale=False,
    )
    assert result.temp_dir is not None and result.temp_dir.is_dir()
    assert (result.temp_dir / "speech_for_mux.wav").is_file(), (
        "the decoded speech is there to inspect"
    )
    shutil.rmtree(result.temp_dir)


def test_ctrl_c_exits_130_and_leaves_nothing(workdir: Path) -> None:
    """A real SIGINT to the CLI mid-render: exit 130, no output, no partial file, no temp dir."""
    audio = write_wav(workdir / "long.wav", speech_like(60.0, [(0.5, 59.5)]))
    out = workdir / "interrupted.mp4"
    tmp = workdir / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lipsync_tool",
            str(workdir / "astronaut.png"),
            str(audio),
            str(out),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "rendering frames" in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    code = proc.wait(timeout=60)
    assert code == 130, "".join(lines) + rest
    assert "interrupted" in rest
    assert not out.exists() and not list(workdir.glob(".*partial*"))
    assert list(tmp.iterdir()) == []
