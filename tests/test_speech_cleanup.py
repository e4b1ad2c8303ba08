"""--trim-silence and --normalize-loudness through the whole pipeline: sync kept, level on target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lipsync_tool
from lipsync_tool.media.audio import decode_speech
from lipsync_tool.media.ffmpeg import find_ffmpeg
from lipsync_tool.media.loudness import measure_loudness
from lipsync_tool.media.probe import probe

from .conftest import PaddedSpeech
from .test_pipeline import mouth_track


def test_trim_silence_shortens_and_keeps_sync(workdir: Path, english: PaddedSpeech) -> None:
    out = workdir / "trimmed.mp4"
    result = lipsync_tool.render(
        workdir / "grace_hopper.jpg",
        workdir / "speech.wav",
        out,
        upscale=False,
        trim_silence=True,
        seed=1,
    )
    ffmpeg = find_ffmpeg()
    speech_length = english.speech_span[1] - english.speech_span[0]
    assert result.duration < english.duration - 1.5, "the two seconds of silence are mostly gone"
    assert abs(result.duration - speech_length) < 0.5
    info = probe(ffmpeg, out)
    assert abs(info.duration - result.duration) < 0.06, "video and audio were cut alike"
    muxed = decode_speech(ffmpeg, out, max_duration=60)
    level = np.abs(muxed.samples)
    first_sound = (
        np.nonzero(np.convolve(level, np.ones(160) / 160, mode="same") > 0.01 * level.max())[0][0]
        / 16000
    )
    assert first_sound < 0.25, "the leading second of silence is cut"
    openings = mouth_track(ffmpeg, out, height=512)
    assert openings.max() > 0.04 and openings[: max(1, int(first_sound * 25) - 2)].max() < 0.02


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_normalize_loudness_hits_the_target(workdir: Path, target: float) -> None:
    out = workdir / f"loud{int(-target)}.mp4"
    lipsync_tool.render(
        workdir / "grace_hopper.jpg",
        workdir / "speech.wav",
        out,
        upscale=False,
        normalize_loudness=target,
        visemes="acoustic",
    )
    measured = measure_loudness(find_ffmpeg(), out)
    assert abs(measured - target) <= 1.0, f"{measured:.1f} LUFS for a {target} LUFS target"


def test_text_with_trim_keeps_the_exact_phone_timings(workdir: Path) -> None:
    """Synthesised speech, trimmed: the phones move with the cuts, so the lips still close on /b/."""
    out = workdir / "said.mp4"
    text = "Bob.  ...  Bob."
    result = lipsync_tool.render(
        workdir / "grace_hopper.jpg",
        None,
        out,
        text=text,
        trim_silence=True,
        max_pause=0.3,
        upscale=False,
        seed=1,
    )
    openings = mouth_track(find_ffmpeg(), out, height=512)
    assert len(openings) == result.frames
    assert openings.max() > 0.03
    peaks = np.nonzero(openings > 0.6 * openings.max())[0]
    assert peaks.max() - peaks.min() > 5, "both words open the mouth"


def test_bad_cleanup_values(workdir: Path) -> None:
    with pytest.raises(lipsync_tool.InputError, match="--normalize-loudness"):
        lipsync_tool.render(
            workdir / "grace_hopper.jpg",
            workdir / "speech.wav",
            workdir / "x.mp4",
            normalize_loudness=3.0,
        )
    with pytest.raises(lipsync_tool.InputError, match="--max-pause"):
        lipsync_tool.render(
            workdir / "grace_hopper.jpg",
            workdir / "speech.wav",
            workdir / "x.mp4",
            trim_silence=True,
            max_pause=0.0,
        )
    assert not (workdir / "x.mp4").exists()


def _best_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 3) -> tuple[int, float]:
    a, b = a - a.mean(), b - b.mean()
    scores = {
        lag: float(np.corrcoef(np.roll(a, lag)[max_lag:-max_lag], b[max_lag:-max_lag])[0, 1])
        for lag in range(-max_lag, max_lag + 1)
    }
    lag = max(scores, key=scores.__getitem__)
    return lag, scores[lag]


def test_every_audio_form_gives_the_same_sync(workdir: Path, ffmpeg: str) -> None:
    """Mono 16 kHz, 8 kHz telephone, 48 kHz stereo, and audio-only MP4/MKV containers: same mouth timing."""
    import subprocess

    from lipsync_tool.media.audio import frame_count
    from lipsync_tool.speech.track import SpeechAnalyzer

    reference = workdir / "speech.wav"
    variants = {
        "8 kHz telephone": ["-ar", "8000", "-ac", "1", str(workdir / "tel.wav")],
        "48 kHz stereo": ["-ar", "48000", "-ac", "2", str(workdir / "st.wav")],
        "audio-only mp4": ["-c:a", "aac", "-b:a", "128k", str(workdir / "only.mp4")],
        "audio-only mkv": ["-c:a", "libopus", str(workdir / "only.mkv")],
    }
    analyzer = SpeechAnalyzer()

    def opening(path: Path) -> np.ndarray:
        speech = decode_speech(ffmpeg, path, max_duration=60)
        return analyzer.track(speech, 25, frame_count(speech.duration, 25)).poses.effective_opening

    base = opening(reference)
    for name, args in variants.items():
        subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(reference), *args], check=True)
        other = opening(Path(args[-1]))
        assert abs(len(other) - len(base)) <= 1, name
        n = min(len(base), len(other))
        lag, r = _best_lag(other[:n], base[:n])
        assert lag == 0 and r > 0.8, f"{name}: lag {lag} frames, r {r:.2f}"


def test_muxed_audio_starts_at_zero(workdir: Path, ffmpeg: str) -> None:
    """Even from a source whose audio starts late in its container, the video's audio starts at 0."""
    import subprocess

    late = workdir / "late.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x64:r=25:d=4",
            "-itsoffset",
            "0.5",
            "-i",
            str(workdir / "bursts.wav"),
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            str(late),
        ],
        check=True,
    )
    out = workdir / "fromlate.mp4"
    lipsync_tool.render(workdir / "grace_hopper.jpg", late, out, upscale=False, visemes="acoustic")
    report = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(out)], capture_output=True, text=True
    ).stderr
    assert "start: 0.000000" in report

    def onset(path: Path) -> float:
        level = np.abs(decode_speech(ffmpeg, path, max_duration=60).samples)
        return float(
            np.nonzero(np.convolve(level, np.ones(160) / 160, mode="same") > 0.05 * level.max())[0][
                0
            ]
            / 16000
        )

    # The analysis decodes the stream from its first sample; the muxed track must line up with that.
    assert abs(onset(out) - onset(late)) < 0.03, (
        "speech is where the analysis (and so the mouth) has it"
    )
