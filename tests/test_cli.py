"""The command line: every flag reaches RenderOptions, usage errors are one line, --dry-run renders nothing."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from lipsync_tool import __version__
from lipsync_tool.cli import build_parser, main, options_from_args
from lipsync_tool.engines.registry import ENGINES
from lipsync_tool.errors import InputError
from lipsync_tool.options import RenderOptions, Wav2LipOptions

BASE = ["face.png", "speech.wav", "out.mp4"]


def parse(*extra: str) -> RenderOptions:
    return options_from_args(build_parser().parse_args([*BASE, *extra]))


FLAG_CASES = [
    (["--engine", "sadtalker"], "engine", "sadtalker"),
    (["--fps", "30"], "fps", 30.0),
    (["--resolution", "512"], "resolution", 512),
    (["--preprocess", "extreme_crop"], "preprocess", "extreme_crop"),
    (["--expression-scale", "1.5"], "expression_scale", 1.5),
    (["--no-still"], "still", False),
    (["--enhancer", "gfpgan"], "enhancer", "gfpgan"),
    (["--sadtalker-batch-size", "4"], "sadtalker_batch_size", 4),
    (["--cache-dir", "/tmp/cache"], "cache_dir", Path("/tmp/cache")),
    (["--no-upscale"], "upscale", False),
    (["--keep-temp"], "keep_temp", True),
    (["--overwrite"], "overwrite", True),
    (["--install-deps"], "install_deps", True),
    (["--max-duration", "30"], "max_duration", 30.0),
    (["--visemes", "acoustic"], "visemes", "acoustic"),
    (["--language", "de"], "language", "de"),
    (["--transcript", "hello there"], "transcript", "hello there"),
    (["--no-blink"], "blink", False),
    (["--seed", "7"], "seed", 7),
    (["--export-cues", "cues.json"], "export_cues", Path("cues.json")),
    (["--text", "hi there"], "text", "hi there"),
    (["--voice", "de"], "voice", "de"),
    (["--rate", "200"], "rate", 200),
    (["--pitch", "30"], "pitch", 30),
    (["--text", "hi", "--save-audio", "s.wav"], "save_audio", Path("s.wav")),
    (["--trim-silence"], "trim_silence", True),
    (["--max-pause", "0.3"], "max_pause", 0.3),
    (["--normalize-loudness"], "normalize_loudness", -16.0),
    (["--wav2lip-pads", "1", "2", "3", "4"], "wav2lip.pads", (1, 2, 3, 4)),
    (["--wav2lip-static"], "wav2lip.static", True),
    (["--wav2lip-no-static"], "wav2lip.static", False),
    (["--wav2lip-nosmooth"], "wav2lip.nosmooth", True),
    (["--wav2lip-batch-size", "8"], "wav2lip.batch_size", 8),
    (["--wav2lip-face-det-batch-size", "4"], "wav2lip.face_det_batch_size", 4),
    (["--wav2lip-resize-factor", "2"], "wav2lip.resize_factor", 2),
    (["--wav2lip-crop", "10", "20", "110", "140"], "wav2lip.crop", (10, 20, 110, 140)),
    (["--wav2lip-checkpoint", "base"], "wav2lip.checkpoint", "base"),
    (["--wav2lip-impl", "upstream"], "wav2lip.impl", "upstream"),
]


@pytest.mark.parametrize(("argv", "path", "expected"), FLAG_CASES, ids=[c[1] for c in FLAG_CASES])
def test_every_flag_reaches_the_options_object(
    argv: list[str], path: str, expected: object
) -> None:
    options = parse(*argv)
    value: object = options
    for part in path.split("."):
        value = getattr(value, part)
    assert value == expected
    assert parse() != options, "the flag must change something from the defaults"


def test_every_option_field_has_a_flag() -> None:
    """No RenderOptions field is unreachable from the command line."""
    import dataclasses

    covered = {case[1] for case in FLAG_CASES}
    fields = {f.name for f in dataclasses.fields(RenderOptions) if f.name != "wav2lip"}
    fields |= {f"wav2lip.{f.name}" for f in dataclasses.fields(Wav2LipOptions)}
    assert fields <= covered


def test_defaults_match_the_library_defaults() -> None:
    assert parse() == RenderOptions()


def test_engine_choices_come_from_the_registry() -> None:
    engine_action = next(a for a in build_parser()._actions if a.dest == "engine")
    assert tuple(engine_action.choices) == tuple(ENGINES)
    assert engine_action.default == "warp"


def test_extreme_crop_is_upstream_extcrop() -> None:
    assert parse("--preprocess", "extreme_crop").upstream_preprocess == "extcrop"
    assert parse("--preprocess", "full").upstream_preprocess == "full"


@pytest.mark.parametrize(
    "argv",
    [
        ["--fps", "0"],
        ["--fps", "500"],
        ["--expression-scale", "-1"],
        ["--max-duration", "0"],
        ["--wav2lip-batch-size", "0"],
        ["--sadtalker-batch-size", "0"],
        ["--wav2lip-crop", "50", "50", "10", "10"],
    ],
)
def test_out_of_range_values_are_input_errors(argv: list[str]) -> None:
    with pytest.raises(InputError):
        parse(*argv)


def test_usage_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["only-one-arg"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_bad_choice_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--engine", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]


def test_version_and_help_are_instant_and_complete() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "lipsync_tool", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and __version__ in version.stdout
    help_text = subprocess.run(
        [sys.executable, "-m", "lipsync_tool", "--help"], capture_output=True, text=True
    ).stdout
    assert "examples:" in help_text and "LIPSYNC_CACHE_DIR" in help_text
    for flag in (
        "--engine",
        "--dry-run",
        "--wav2lip-crop",
        "--no-upscale",
        "--keep-temp",
        "--overwrite",
    ):
        assert flag in help_text
    probe = "import sys, lipsync_tool.cli; print(sorted(m for m in ('cv2', 'ai_edge_litert') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True
    ).stdout.strip()
    assert loaded == "[]", "the CLI module must not import heavy modules before they are needed"


def test_dry_run_prints_the_plan_and_writes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "out.mp4"
    code = main(
        [str(workdir / "astronaut.png"), str(workdir / "speech.wav"), str(out), "--dry-run"]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert not out.exists() and not list(workdir.glob(".*partial*"))
    assert "engine:    warp" in printed and str(out) in printed
    assert "156 frames" in printed  # 6.22 s at 25 fps
    assert "libx264" in printed and "scale=-2:1080" in printed  # the ffmpeg command that would run
    assert "none to fetch" in printed


def test_dry_run_still_validates(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            str(workdir / "missing.png"),
            str(workdir / "speech.wav"),
            str(workdir / "o.mp4"),
            "--dry-run",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("error: PORTRAIT")


def test_sadtalker_without_its_environment_fails_with_one_clear_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "out.mp4"
    code = main(
        [
            str(workdir / "astronaut.png"),
            str(workdir / "speech.wav"),
            str(out),
            "--engine",
            "sadtalker",
            "--cache-dir",
            str(workdir / "cache"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert (
        len(err) == 1
        and err[0].startswith("error: ")
        and "sadtalker" in err[0]
        and "--install-deps" in err[0]
    )
    assert not out.exists() and not (workdir / "cache" / "sadtalker" / "repo").exists()


def test_flags_the_engine_ignores_are_logged(
    workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from lipsync_tool.pipeline import LipSyncPipeline

    options = RenderOptions(
        resolution=512, enhancer="gfpgan", wav2lip=Wav2LipOptions(nosmooth=True)
    )
    with caplog.at_level(logging.INFO, logger="lipsync_tool"):
        plan = LipSyncPipeline(options).plan(
            workdir / "astronaut.png", workdir / "speech.wav", workdir / "o.mp4"
        )
    assert plan.ignored == ["--resolution", "--enhancer", "--wav2lip-nosmooth"]
    assert "--fps" not in plan.ignored


def test_plain_progress_lines_carry_an_eta(caplog: pytest.LogCaptureFixture) -> None:
    from lipsync_tool.progress import ProgressReporter

    reporter = ProgressReporter(interactive=False)
    with caplog.at_level(logging.INFO, logger="lipsync_tool.progress"):
        for done in range(1, 101):
            reporter("render", done, 100)
    lines = [r.getMessage() for r in caplog.records]
    assert (
        len(lines) == 10
        and lines[1].startswith("rendering frames: 20/100 (20%), about ")
        and lines[-1].endswith("0 s left")
    )
