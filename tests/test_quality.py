"""End to end through `evaluate`: the default engine articulates English on two real portraits, and the
same thresholds fail a mouth driven by loudness alone.

Each clip is rendered as the tool writes it (1080 lines) from eSpeak NG text, and measured against the
synthesiser's own phone timings. Closure is held to the issue's target (85 %: one of the sentence's
eight bilabials may be missed; both portraits close all eight), rounding sits a step below its 70 %
(one of five intervals: the astronaut rounds four of five here, the bench's pooled figure is 98 %),
and both sit far above what the loudness-only mouth scores (closure 25-38 %, rounding 20 %).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lipsync_tool
from lipsync_tool.evaluation import EvaluationReport, evaluate_video
from lipsync_tool.speech.tts import synthesize_to_wav
from lipsync_tool.speech_input import TEXT_MARGIN

from .conftest import ENGLISH_SENTENCE

MIN_CLOSURE = 0.85
MIN_OPENING = 0.85
MIN_ROUNDING = 0.6
MAX_LAG_FRAMES = 1.0
MIN_SSIM = 0.93


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sentence as --text speaks it, and its true phones as an evaluate phones file."""
    folder = tmp_path_factory.mktemp("quality")
    speech = synthesize_to_wav(ENGLISH_SENTENCE, folder / "sentence.wav", margin=TEXT_MARGIN)
    phones = folder / "phones.json"
    phones.write_text(
        json.dumps([{"phone": p.phone, "start": p.start, "end": p.end} for p in speech.phones])
    )
    return speech.wav, phones


def render_and_evaluate(
    folder: Path, portrait: Path, spoken: tuple[Path, Path], **options: object
) -> EvaluationReport:
    wav, phones = spoken
    video = folder / "clip.mp4"
    if options.get("visemes") == "acoustic":
        lipsync_tool.render(portrait, wav, video, seed=1, **options)
    else:
        lipsync_tool.render(portrait, None, video, text=ENGLISH_SENTENCE, seed=1, **options)
    report = evaluate_video(video, audio=wav, phones=phones, portrait=portrait)
    (folder / "report.txt").write_text(report.format_table())  # left beside the clip to look at
    return report


def passes(report: EvaluationReport) -> dict[str, bool]:
    art = report.articulation
    assert art is not None
    return {
        "closure": (art.closure.share or 0.0) >= MIN_CLOSURE,
        "opening": (art.opening.share or 0.0) >= MIN_OPENING,
        "rounding": (art.rounding.share or 0.0) >= MIN_ROUNDING,
    }


@pytest.mark.parametrize("portrait", ["grace_hopper.jpg", "astronaut.png"])
def test_the_warp_engine_articulates_english(
    workdir: Path, portrait: str, spoken: tuple[Path, Path]
) -> None:
    report = render_and_evaluate(workdir, workdir / portrait, spoken)
    table = report.format_table()
    art = report.articulation
    assert art is not None and art.closure.total >= 5 and art.rounding.total >= 3, table
    assert all(passes(report).values()), table
    assert abs(report.sync.lag_subframe) <= MAX_LAG_FRAMES, table
    assert report.sync.r > 0.55, (
        table
    )  # 0.64-0.69 here, 0.61-0.64 on the bench's longer sentence; see the README
    assert report.identity is not None and report.identity.ssim_outside_blinks > MIN_SSIM, table


@pytest.mark.parametrize("portrait", ["grace_hopper.jpg", "astronaut.png"])
def test_a_mouth_driven_by_loudness_alone_fails_the_same_thresholds(
    workdir: Path, portrait: str, spoken: tuple[Path, Path]
) -> None:
    report = render_and_evaluate(workdir, workdir / portrait, spoken, visemes="acoustic")
    verdict = passes(report)
    assert not (verdict["closure"] and verdict["rounding"]), report.format_table()
    assert report.sync.r > 0.5, "it does follow the sound: " + report.format_table()
