"""`evaluate`: each metric on synthetic arrays, then a real render measured, shifted and measured again."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import lipsync_tool
from lipsync_tool.cli.evaluate import JSON_KEYS
from lipsync_tool.cli.evaluate import build as build_evaluate_parser
from lipsync_tool.cli.evaluate import run as run_evaluate
from lipsync_tool.errors import InputError
from lipsync_tool.evaluation import EvaluationReport, evaluate_video, parse_phones
from lipsync_tool.evaluation import metrics as m
from lipsync_tool.speech.ipa import ipa_to_arpabet

from .conftest import ENGLISH_SENTENCE, PaddedSpeech

FPS = 25.0
RNG_SEED = 7


def syllables(n: int = 250) -> np.ndarray:
    """A loudness track (dBFS): 1 s of digital silence, speech-like syllables, 1 s of silence."""
    t = np.arange(n) / FPS
    level = -30 + 25 * np.abs(np.sin(np.pi * 3.3 * t)) ** 1.5 + 4 * np.sin(2 * np.pi * 0.37 * t)
    level[:25] = level[-25:] = -180.0
    return level


# --- sync ----------------------------------------------------------------------------------


def test_sync_of_a_mouth_driven_by_loudness_is_perfect() -> None:
    level = syllables()
    opening = 0.001 * (np.maximum(level, -60) + 60)
    sync = m.sync_metrics(opening, level, max_lag=5)
    assert sync.lag_frames == 0 and abs(sync.lag_subframe) < 0.3
    assert sync.r > 0.999 and sync.r_best == pytest.approx(sync.r)
    assert len(sync.correlations) == 11


@pytest.mark.parametrize("shift", [2, -2, 4])
def test_a_shifted_mouth_gives_its_lag_with_the_documented_sign(shift: int) -> None:
    level = syllables()
    opening = np.roll(
        0.001 * (np.maximum(level, -60) + 60), shift
    )  # positive: the mouth moves later
    sync = m.sync_metrics(opening, level, max_lag=5)
    assert sync.lag_frames == shift
    assert sync.r_best > 0.99 and sync.r < sync.r_best


def test_sync_clips_digital_silence_at_minus_60_dbfs() -> None:
    level = syllables()
    opening = 0.001 * (np.maximum(level, -60) + 60)
    quieter = np.where(level < -100, -300.0, level)
    assert m.sync_metrics(opening, quieter).r == pytest.approx(m.sync_metrics(opening, level).r)


def test_sync_ignores_frames_without_a_face() -> None:
    level = syllables()
    opening = 0.001 * (np.maximum(level, -60) + 60)
    opening[40:50] = np.nan
    sync = m.sync_metrics(opening, level)
    assert sync.lag_frames == 0 and sync.r > 0.999 and sync.frames == 240


# --- articulation --------------------------------------------------------------------------


def phone_track() -> tuple[list[m.Phone], np.ndarray, np.ndarray]:
    """Ten repetitions of /m aa b uw/ between silences, and a mouth that articulates them."""
    phones, opening, width = [], np.full(300, 0.004), np.full(300, 0.40)
    t = 1.0
    for _ in range(10):
        for label, length, shape in (
            ("m", 0.06, (0.002, 0.40)),
            ("aa", 0.16, (0.07, 0.41)),
            ("b", 0.05, (0.003, 0.40)),
            ("uw", 0.14, (0.03, 0.33)),
        ):
            phones.append(m.Phone(label, t, t + length))
            frames = m.frame_window(t + 0.02, t + length - 0.02, FPS, 300)
            opening[frames.start : frames.stop], width[frames.start : frames.stop] = shape
            t += length
    phones.append(m.Phone("sil", t, t + 0.5))
    return phones, opening, width


def test_a_well_articulated_mouth_passes_every_interval() -> None:
    phones, opening, width = phone_track()
    art = m.articulation_metrics(opening, width, FPS, phones)
    assert (art.closure.passed, art.closure.total) == (20, 20)
    assert (art.opening.passed, art.opening.total) == (10, 10)
    assert (art.rounding.passed, art.rounding.total) == (10, 10)
    assert art.closure.share == 1.0 and art.closure.threshold == m.CLOSED_OPENING


def test_a_mouth_that_never_closes_gets_no_closure() -> None:
    phones, opening, width = phone_track()
    art = m.articulation_metrics(np.maximum(opening, 0.025), width, FPS, phones)
    assert art.closure.passed == 0 and art.closure.total == 20
    assert art.opening.share == 1.0


def test_a_mouth_frozen_open_or_unmoving_fails_opening_and_rounding() -> None:
    phones, opening, _ = phone_track()
    frozen = m.articulation_metrics(
        np.full_like(opening, 0.05), np.full_like(opening, 0.4), FPS, phones
    )
    assert frozen.opening.passed == 0 and frozen.rounding.passed == 0 and frozen.closure.passed == 0
    rng = np.random.default_rng(RNG_SEED)
    noisy_width = 0.4 + rng.normal(0, 0.001, len(opening))  # the mesh's noise, no rounding at all
    assert m.articulation_metrics(opening, noisy_width, FPS, phones).rounding.passed == 0


def test_a_phone_shorter_than_a_frame_still_has_a_window() -> None:
    assert list(m.frame_window(2.239, 2.289, FPS, 200)) == [
        55,
        56,
        57,
    ]  # display periods overlapping
    assert len(m.frame_window(1.001, 1.002, FPS, 200)) == 1
    assert list(m.frame_window(7.9, 9.0, FPS, 200)) == [197, 198, 199]  # clipped to the clip


# --- stability -----------------------------------------------------------------------------


def test_jitter_ignores_slow_drift_and_reads_white_noise() -> None:
    n, t = 3000, np.arange(3000)[:, None, None]
    drift = np.concatenate([0.05 * t + 3 * np.sin(2 * np.pi * t / 150), -0.02 * t + 0 * t], axis=2)
    drift = np.broadcast_to(drift, (n, 6, 2))
    run = [range(0, n)]
    assert m.silent_jitter(drift, run, points=range(6)).jitter_px < 0.05
    noise = np.random.default_rng(RNG_SEED).normal(
        0, 1 / math.sqrt(2), (n, 6, 2)
    )  # RMS displacement 1 px
    jitter = m.silent_jitter(drift + noise, run, points=range(6)).jitter_px
    assert jitter == pytest.approx(1.0, abs=0.05)


def test_silent_runs_keep_long_quiet_stretches_minus_a_guard_next_to_speech() -> None:
    level = np.full(60, -20.0)
    level[:10] = level[20:23] = level[30:50] = -70.0
    assert m.silent_runs(level) == [range(0, 10), range(30, 50)]
    assert m.silent_runs(level, guard=3) == [range(0, 7), range(33, 47)]
    stats = m.silent_jitter(np.zeros((60, 468, 2)), m.silent_runs(level))
    assert (stats.jitter_px, stats.runs, stats.silent_frames, stats.frames_measured) == (
        0.0,
        2,
        30,
        22,
    )
    assert m.silent_jitter(np.zeros((60, 468, 2)), []).jitter_px is None


# --- identity ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portrait_face(assets: Path) -> tuple[np.ndarray, np.ndarray]:
    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.media.image import load_portrait

    image = load_portrait(assets / "grace_hopper.jpg")
    return image, FaceAnalyzer().analyze(image).landmarks.xy.astype(np.float64)


def test_ssim_of_an_image_with_itself_is_one_and_blur_lowers_it(
    portrait_face: tuple[np.ndarray, np.ndarray],
) -> None:
    image, points = portrait_face
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    assert m.ssim(gray, gray) == pytest.approx(1.0)
    assert m.ssim(gray, cv2.GaussianBlur(gray, (0, 0), 2.0)) < 0.8
    reference = m.UpperFaceReference.build(image, points)
    same = m.upper_face_ssim(image, points, reference)
    assert same.combined() == pytest.approx(1.0, abs=1e-3)
    blurred = m.upper_face_ssim(cv2.GaussianBlur(image, (0, 0), 2.0), points, reference)
    assert blurred.combined() < 0.85


def test_ssim_survives_a_moved_head_and_noisy_landmarks(
    portrait_face: tuple[np.ndarray, np.ndarray],
) -> None:
    image, points = portrait_face
    reference = m.UpperFaceReference.build(image, points)
    h, w = image.shape[:2]
    move = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 0.97)
    move[:, 2] += (6, -4)
    moved = cv2.warpAffine(
        image, move, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    moved_points = points @ move[:, :2].T + move[:, 2]
    noisy = moved_points + np.random.default_rng(RNG_SEED).normal(0, 1.0, moved_points.shape)
    assert m.upper_face_ssim(moved, noisy, reference).combined() > 0.95


def test_ssim_of_a_faded_small_face_does_not_depend_on_the_landmarks_noise() -> None:
    """The astronaut at 35 % contrast (a 105 px face), through JPEG, against itself: whatever the
    mesh's 1 px noise, the frame aligns onto the portrait about as well as with exact landmarks
    (ECC on unblurred pixels, kept only where it beats the landmarks' own alignment)."""
    import skimage.data

    from lipsync_tool.face.analyzer import FaceAnalyzer

    from . import portrait_variants as pv

    faded = pv.low_contrast(skimage.data.astronaut())
    points = FaceAnalyzer().analyze(faded).landmarks.points[:, :2].astype(np.float64)
    reference = m.UpperFaceReference.build(faded, points)
    frame = pv.jpeg(faded, 95)
    exact = m.upper_face_ssim(frame, points, reference).combined()
    noisy = [
        m.upper_face_ssim(frame, points + rng.normal(0, 1.0, points.shape), reference).combined()
        for rng in (np.random.default_rng(seed) for seed in range(4))
    ]
    assert exact > 0.98
    assert min(noisy) > exact - 0.015, f"exact landmarks {exact:.3f}, noisy {np.round(noisy, 3)}"


def test_similarity_transform_recovers_a_known_one() -> None:
    source = np.random.default_rng(RNG_SEED).uniform(0, 100, (9, 2))
    angle, scale, shift = 0.2, 1.3, np.array([5.0, -7.0])
    rotation = scale * np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    )
    matrix = m.similarity_transform(source, source @ rotation.T + shift)
    np.testing.assert_allclose(matrix, np.c_[rotation, shift], atol=1e-9)


def test_blinks_are_found_by_the_mesh_or_by_a_short_dip_of_the_eye_ssim() -> None:
    ratio, eye_ssim = np.ones((100, 2)), np.full((100, 2), 0.95)
    ratio[10:13, 0] = 0.3  # the mesh sees the right eye close
    eye_ssim[40:45] = 0.6  # a rendered blink the mesh missed
    eye_ssim[60:90, 1] = 0.6  # a lasting change of the left eye: not a blink
    blinks = m.blink_mask(ratio, eye_ssim, FPS)
    assert blinks[10:13, 0].all() and not blinks[10:13, 1].any()
    assert blinks[40:45].all()
    assert not blinks[60:90].any() and blinks.sum() == 3 + 10
    parts = [
        m.SsimParts(0.9, (float(right), float(left)), (100, 10, 10)) for right, left in eye_ssim
    ]
    metrics = m.identity_metrics(parts, ratio, FPS)
    calm = ~blinks.any(axis=1)
    assert metrics.blink_frames == 8
    assert metrics.ssim_outside_blinks == pytest.approx(
        np.mean((90 + 10 * eye_ssim[calm].sum(axis=1)) / 120)
    )
    assert parts[42].combined((True, True)) == 0.9 and metrics.ssim_min == pytest.approx(
        (90 + 9.5 + 6) / 120
    )  # the lasting change counts


# --- phones and report ---------------------------------------------------------------------


def test_phone_files_in_arpabet_or_ipa() -> None:
    arpabet = parse_phones([{"phone": "AA1", "start": 0.1, "end": 0.2}, ("m", 0.2, 0.3)])
    assert [(p.key, p.start) for p in arpabet] == [("aa", 0.1), ("m", 0.2)]
    per_entry = parse_phones([{"phone": "uː", "start": 0, "end": 0.1, "ipa": True}])
    whole = parse_phones({"alphabet": "ipa", "phones": [{"phone": "b", "start": 0, "end": 0.1}]})
    assert per_entry[0].label == "uw" and whole[0].label == "b"
    for bad in (
        {"phones": "x"},
        [{"phone": "m", "start": 0.3, "end": 0.2}],
        [{"start": 0, "end": 1}],
        {"alphabet": "sampa", "phones": []},
    ):
        with pytest.raises(InputError):
            parse_phones(bad)


# --- end to end ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(
    assets: Path, english: PaddedSpeech, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The English TTS clip rendered by the default engine, its true phones and two shifted copies."""
    folder = tmp_path_factory.mktemp("evaluate")
    video = folder / "talk.mp4"
    lipsync_tool.render(
        assets / "grace_hopper.jpg",
        assets / "speech.wav",
        video,
        upscale=False,
        seed=1,
        transcript=ENGLISH_SENTENCE,
    )
    phones = [
        {"phone": ipa_to_arpabet(ipa), "start": start, "end": end}
        for _, ipa, start, end in english.events
    ]
    (folder / "phones.json").write_text(json.dumps(phones))
    ipa = [{"phone": ipa, "start": start, "end": end} for _, ipa, start, end in english.events]
    (folder / "phones_ipa.json").write_text(
        json.dumps({"alphabet": "ipa", "phones": ipa}, ensure_ascii=False)
    )
    files = {
        "video": video,
        "phones": folder / "phones.json",
        "phones_ipa": folder / "phones_ipa.json",
        "audio": assets / "speech.wav",
        "portrait": assets / "grace_hopper.jpg",
        "folder": folder,
    }
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    for name, delayed in (
        ("audio_late", 1),
        ("video_late", 0),
    ):  # 4 frames = 0.16 s, the same frames re-muxed
        inputs = [["-i", str(video)], ["-itsoffset", "0.16", "-i", str(video)]]
        first, second = (inputs[0], inputs[1]) if delayed else (inputs[1], inputs[0])
        files[name] = folder / f"{name}.mp4"
        subprocess.run(
            [
                find_ffmpeg(),
                "-hide_banner",
                "-nostdin",
                "-loglevel",
                "error",
                *first,
                *second,
                "-map",
                "0:v:0",
                "-map",
                "1:a:0",
                "-c",
                "copy",
                str(files[name]),
            ],
            check=True,
        )
    return files


@pytest.fixture(scope="module")
def report(rendered: dict[str, Path]) -> EvaluationReport:
    result = evaluate_video(
        rendered["video"],
        audio=rendered["audio"],
        phones=rendered["phones"],
        portrait=rendered["portrait"],
    )
    (rendered["folder"] / "report.json").write_text(
        json.dumps(result.to_dict(), indent=2)
    )  # left to look at
    (rendered["folder"] / "report.txt").write_text(result.format_table())
    return result


def test_a_real_render_measures_finite_and_sane(report: EvaluationReport) -> None:
    """Sanity bounds only: the engine's own targets are checked by its engineer, not here."""
    table = report.format_table()
    assert report.frames > 100 and report.faces_found == report.frames, table
    assert abs(report.sync.lag_subframe) <= 2 and report.sync.r > 0.3, (
        table
    )  # the target is ±1; see the report
    assert report.identity is not None and report.identity.ssim_mean > 0.8, table
    assert report.stability.jitter_px is not None and report.stability.jitter_px < 1.5, table
    art = report.articulation
    labels = [p["phone"] for p in json.loads(Path(report.phones or "").read_text())]
    assert (
        art is not None
        and art.closure.total == sum(label in ("m", "b", "p") for label in labels) > 0
    )
    assert art.opening.total == sum(label in ("aa", "ae", "ah", "ay", "aw") for label in labels) > 0
    assert art.rounding.total == sum(label in ("uw", "w", "ow") for label in labels) > 0
    values = [
        report.sync.r,
        report.sync.r_best,
        report.identity.ssim_p05,
        report.stability.jitter_px,
        art.opening.threshold,
        art.rounding.threshold,
        *(i.value for i in art.closure.intervals),
    ]
    assert np.isfinite(values).all(), table
    json.dumps(report.to_dict(), allow_nan=False)


@pytest.mark.parametrize(("copy", "moves_by"), [("audio_late", -4), ("video_late", 4)])
def test_delaying_one_stream_by_four_frames_moves_the_lag_by_four(
    rendered: dict[str, Path],
    report: EvaluationReport,
    copy: str,
    moves_by: int,
) -> None:
    shifted = evaluate_video(rendered[copy], max_lag=9)  # its own (delayed) audio track
    moved = shifted.sync.lag_subframe - report.sync.lag_subframe
    assert abs(moved - moves_by) <= 1, (report.sync, shifted.sync)
    assert abs(shifted.sync.lag_frames - report.sync.lag_frames - moves_by) <= 1


def test_the_cli_hooks_print_a_table_and_write_the_json(
    rendered: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    build_evaluate_parser(parser)
    out = tmp_path / "report.json"
    args = parser.parse_args(
        [str(rendered["video"]), "--phones", str(rendered["phones_ipa"]), "--json", str(out)]
    )
    assert run_evaluate(args) == 0
    printed = capsys.readouterr().out
    assert (
        "sync: Pearson r (lag 0)" in printed
        and "bilabial closure" in printed
        and f"wrote {out}" in printed
    )
    data = json.loads(out.read_text())
    assert tuple(data) == JSON_KEYS
    assert data["identity"] is None and data["audio"] == data["video"]
    assert set(data["articulation"]["closure"]) >= {
        "passed",
        "total",
        "share",
        "threshold",
        "intervals",
    }
    assert set(data["sync"]) >= {"r", "lag_frames", "r_best"} and "jitter_px" in data["stability"]
    labels = [
        p["phone"] for p in json.loads(rendered["phones"].read_text())
    ]  # IPA read as the ARPAbet file
    assert data["articulation"]["closure"]["total"] == sum(
        label in ("m", "b", "p") for label in labels
    )


def test_the_cli_hooks_reject_bad_input(rendered: dict[str, Path], tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    build_evaluate_parser(parser)
    with pytest.raises(InputError, match="does not exist"):
        run_evaluate(parser.parse_args([str(tmp_path / "missing.mp4")]))
    with pytest.raises(InputError, match="no video stream"):
        run_evaluate(parser.parse_args([str(rendered["audio"])]))
    with pytest.raises(InputError, match="--max-lag"):
        run_evaluate(parser.parse_args([str(rendered["video"]), "--max-lag", "-1"]))
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    faceless = tmp_path / "faceless.mp4"
    subprocess.run(
        [
            find_ffmpeg(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=gray:s=128x128:d=0.5",
            "-f",
            "lavfi",
            "-i",
            "sine=d=0.5",
            "-pix_fmt",
            "yuv420p",
            "-shortest",
            str(faceless),
        ],
        check=True,
    )
    with pytest.raises(InputError, match="no face found"):
        run_evaluate(parser.parse_args([str(faceless)]))
    silent = tmp_path / "silent.mp4"
    subprocess.run(
        [
            find_ffmpeg(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(rendered["video"]),
            "-an",
            "-c",
            "copy",
            str(silent),
        ],
        check=True,
    )
    with pytest.raises(InputError, match="--audio"):
        run_evaluate(parser.parse_args([str(silent)]))


def test_importing_the_cli_hooks_stays_light() -> None:
    code = "import sys, lipsync_tool.cli.evaluate; print('numpy' in sys.modules or 'cv2' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )
