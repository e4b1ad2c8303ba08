"""Blinks, head motion, determinism, and the mouth cues written out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lipsync_tool
from lipsync_tool.cli import main
from lipsync_tool.life.motion import LIVELY, SUBTLE, blink_times, blink_track, head_motion
from lipsync_tool.media.frames import iter_frames


@pytest.mark.parametrize("seed", range(5))
def test_blinks_are_natural(seed: int) -> None:
    rng = np.random.default_rng(seed)
    blinks = blink_times(600.0, rng)
    per_minute = len(blinks) / 10
    assert 15 <= per_minute <= 20
    assert blinks[0][0] >= 1.0, "no blink in the first second"
    lengths = np.array([length for _, length in blinks])
    assert lengths.min() >= 0.1 and lengths.max() <= 0.15
    starts = np.array([start for start, _ in blinks])
    gaps = np.diff(starts)
    assert gaps.std() > 0.4, "intervals are random, not a metronome"


def test_blink_track_closes_fully_once_per_blink() -> None:
    track = blink_track([(2.0, 0.12)], 25, 100)
    assert track[:49].max() == 0 and track[54:].max() == 0
    assert track.max() > 0.9
    assert (track > 0.5).sum() <= 3


def test_head_motion_is_slow_bounded_and_calmer_in_silence() -> None:
    fps, n = 25, 25 * 20
    activity = np.zeros(n)
    activity[n // 2 :] = (np.sin(np.arange(n // 2) / fps * 2 * np.pi * 4) > 0).astype(float)
    motion = head_motion(activity, fps, np.random.default_rng(1), SUBTLE)
    roll, dx = motion[:, 0], motion[:, 1]
    assert np.abs(roll).max() <= SUBTLE.roll + 1e-6 and np.abs(dx).max() <= SUBTLE.shift + 1e-6
    assert np.abs(np.diff(roll)).max() < 0.05, "no jumps: degrees per frame"
    silent, talking = motion[: n // 2 - 25], motion[n // 2 + 25 :]
    assert np.ptp(silent[:, 0]) < np.ptp(talking[:, 0])
    lively = head_motion(activity, fps, np.random.default_rng(1), LIVELY)
    assert np.abs(lively[:, 0]).max() > 2 * np.abs(roll).max(), "--no-still moves more"
    assert np.all(head_motion(activity, fps, np.random.default_rng(1), SUBTLE, scale=0.0) == 0)


def test_same_seed_same_bytes_other_seed_other_blinks(workdir: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        lipsync_tool.render(
            workdir / "grace_hopper.jpg",
            workdir / "bursts.wav",
            workdir / f"{name}.mp4",
            upscale=False,
            seed=seed,
            visemes="acoustic",
        )
    a, b, c = (workdir / f"{n}.mp4" for n in "abc")
    assert a.read_bytes() == b.read_bytes(), "same seed, same file"
    assert a.read_bytes() != c.read_bytes()


def test_frames_are_byte_identical_for_a_seed(workdir: Path) -> None:
    from lipsync_tool.engine.warp.engine import WarpEngine
    from lipsync_tool.renderer import Renderer
    from lipsync_tool.request import RenderRequest

    def frames(seed: int) -> list[np.ndarray]:
        renderer = Renderer()
        captured: list[np.ndarray] = []
        engine = renderer.engine
        assert isinstance(engine, WarpEngine)
        original = engine._frames

        def keep(*args: object) -> object:
            for frame in original(*args):  # type: ignore[arg-type]
                captured.append(frame.copy())
                yield frame

        engine._frames = keep  # type: ignore[method-assign]
        renderer.render(
            RenderRequest(
                portrait=workdir / "astronaut.png",
                audio=workdir / "bursts.wav",
                output=workdir / f"s{seed}-{len(list(workdir.iterdir()))}.mp4",
                seed=seed,
                visemes="acoustic",
            )
        )
        return captured

    first, second = frames(3), frames(3)
    assert len(first) == len(second) == 100
    assert all(np.array_equal(x, y) for x, y in zip(first, second))


def eye_changes(video: Path) -> list[float]:
    """Mean absolute change of the eye region against the first frame, per frame."""
    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.face.topology import LEFT_EYE, RIGHT_EYE
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    frames = [f.astype(np.int16) for f in iter_frames(find_ffmpeg(), video)]
    points = FaceAnalyzer().analyze(frames[0].astype(np.uint8)).landmarks.points[:, :2]
    eyes = points[list(LEFT_EYE + RIGHT_EYE)]
    (x0, y0), (x1, y1) = (
        np.floor(eyes.min(axis=0)).astype(int) - 3,
        np.ceil(eyes.max(axis=0)).astype(int) + 3,
    )
    return [float(np.abs(f[y0:y1, x0:x1] - frames[0][y0:y1, x0:x1]).mean()) for f in frames]


def test_blinks_show_and_no_blink_keeps_the_eyes_open(workdir: Path) -> None:
    """With the mouth and head still (expression scale 0), only the eyes can change: they do, unless --no-blink."""
    still = {"upscale": False, "expression_scale": 0.0, "visemes": "acoustic", "seed": 2}
    lipsync_tool.render(
        workdir / "grace_hopper.jpg", workdir / "bursts.wav", workdir / "b.mp4", **still
    )
    lipsync_tool.render(
        workdir / "grace_hopper.jpg",
        workdir / "bursts.wav",
        workdir / "nb.mp4",
        blink=False,
        **still,
    )
    blinking, open_eyes = eye_changes(workdir / "b.mp4"), eye_changes(workdir / "nb.mp4")
    assert max(blinking) > 8.0, "a blink visibly closes the eyes within 4 s"
    assert max(blinking[:25]) < 2.0, "no blink in the first second"
    assert max(open_eyes) < 2.0


@pytest.mark.parametrize("suffix", [".json", ".tsv"])
def test_export_cues_writes_rhubarb_format(workdir: Path, suffix: str) -> None:
    cues = workdir / f"cues{suffix}"
    lipsync_tool.render(
        workdir / "grace_hopper.jpg",
        workdir / "speech.wav",
        workdir / "v.mp4",
        upscale=False,
        export_cues=cues,
    )
    text = cues.read_text()
    if suffix == ".json":
        data = json.loads(text)
        values = [c["value"] for c in data["mouthCues"]]
        assert data["metadata"]["duration"] == pytest.approx(6.22, abs=0.01)
        starts = [c["start"] for c in data["mouthCues"]]
        assert starts == sorted(starts) and data["mouthCues"][-1]["end"] == pytest.approx(
            6.22, abs=0.01
        )
    else:
        rows = [line.split("\t") for line in text.strip().splitlines()]
        values = [v for _, v in rows]
        assert values[-1] == "X" and float(rows[-1][0]) == pytest.approx(6.22, abs=0.01)
    assert set(values) <= set("ABCDEFGHX")
    assert values[0] == "X" and "A" in values and len(set(values)) >= 5


def test_cues_subcommand_needs_no_portrait(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cues", str(workdir / "speech.wav")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mouthCues"][0]["value"] == "X" and len(data["mouthCues"]) > 10
    out = workdir / "c.tsv"
    assert main(["cues", str(workdir / "bursts.wav"), "-o", str(out), "--visemes", "acoustic"]) == 0
    assert out.read_text().splitlines()[0] == "0.00\tX"
    assert main(["cues", str(workdir / "bursts.wav"), "-o", str(out)]) == 2, (
        "an existing file is kept"
    )
    assert main(["cues", str(workdir / "bursts.wav"), "-o", str(workdir / "c.txt")]) == 2
