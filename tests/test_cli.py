"""The command line: every flag reaches the request or the engine, usage errors are one line, --dry-run renders nothing."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lipsync_tool import __version__
from lipsync_tool.cli import main
from lipsync_tool.cli.render import build_parser, request_from_args, settings_from_args
from lipsync_tool.engine.registry import ENGINES, request_option_fields, setting_fields
from lipsync_tool.errors import InputError
from lipsync_tool.option_specs import build, option_fields
from lipsync_tool.request import RenderRequest

BASE = ["face.png", "speech.wav", "out.mp4"]


def parse(*extra: str) -> dict[str, Any]:
    """Where each flag lands: the CLI's own choices, the request, the engine's settings and options."""
    paths = ["face.png", "out.mp4"] if "--text" in extra else BASE
    args: argparse.Namespace = build_parser().parse_args([*paths, *extra])
    request = request_from_args(args)
    engine = ENGINES[args.engine]
    return {
        "engine": args.engine,
        "cache_dir": args.cache_dir,
        "install_deps": args.install_deps,
        "request": request,
        engine.name: {
            **vars(build(engine.settings_type, settings_from_args(args), "settings")),
            **vars(build(engine.options_type, request.options, "options")),
        },
    }


FLAG_CASES = [
    (["--engine", "sadtalker"], "engine", "sadtalker"),
    (["--cache-dir", "/tmp/cache"], "cache_dir", Path("/tmp/cache")),
    (["--install-deps"], "install_deps", True),
    (["--fps", "30"], "request.fps", 30.0),
    (["--expression-scale", "1.5"], "request.expression_scale", 1.5),
    (["--no-still"], "request.still", False),
    (["--no-upscale"], "request.upscale", False),
    (["--upscaler", "realesrgan"], "request.upscaler", "realesrgan"),
    (["--keep-temp"], "request.keep_temp", True),
    (["--overwrite"], "request.overwrite", True),
    (["--max-duration", "30"], "request.max_duration", 30.0),
    (["--visemes", "acoustic"], "request.visemes", "acoustic"),
    (["--asr", "pocketsphinx"], "request.asr", "pocketsphinx"),
    (["--language", "de"], "request.language", "de"),
    (["--transcript", "hello there"], "request.transcript", "hello there"),
    (["--no-blink"], "request.blink", False),
    (["--seed", "7"], "request.seed", 7),
    (["--export-cues", "cues.json"], "request.export_cues", Path("cues.json")),
    (["--text", "hi there"], "request.text", "hi there"),
    (["--voice", "de"], "request.voice", "de"),
    (["--rate", "200"], "request.rate", 200),
    (["--pitch", "30"], "request.pitch", 30),
    (["--text", "hi", "--save-audio", "s.wav"], "request.save_audio", Path("s.wav")),
    (["--trim-silence"], "request.trim_silence", True),
    (["--max-pause", "0.3"], "request.max_pause", 0.3),
    (["--normalize-loudness"], "request.normalize_loudness", -16.0),
    (["--resolution", "512"], "sadtalker.resolution", 512),
    (["--preprocess", "extreme_crop"], "sadtalker.preprocess", "extreme_crop"),
    (["--enhancer", "gfpgan"], "sadtalker.enhancer", "gfpgan"),
    (["--sadtalker-batch-size", "4"], "sadtalker.batch_size", 4),
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


def _with_engine(argv: list[str], path: str) -> list[str]:
    """An engine's own flag only reaches that engine: choose it."""
    owner = path.split(".")[0]
    return [*argv, "--engine", owner] if owner in ENGINES else argv


def _lookup(parsed: dict[str, Any], path: str) -> object:
    head, _, rest = path.partition(".")
    value = parsed[head]
    if not rest:
        return value
    return value[rest] if isinstance(value, dict) else getattr(value, rest)


@pytest.mark.parametrize(("argv", "path", "expected"), FLAG_CASES, ids=[c[1] for c in FLAG_CASES])
def test_every_flag_reaches_the_request_or_the_engine(
    argv: list[str], path: str, expected: object
) -> None:
    argv = _with_engine(argv, path)
    assert _lookup(parse(*argv), path) == expected
    baseline = parse(*_with_engine([], path))
    assert _lookup(baseline, path) != expected, "the flag must change something from the defaults"


def test_every_field_has_a_flag() -> None:
    """No request field, engine setting or engine option is unreachable from the command line."""
    covered = {case[1] for case in FLAG_CASES}
    fields = {f"request.{f.name}" for f in option_fields(RenderRequest) if f.spec.cli}
    for name, engine in ENGINES.items():
        fields |= {
            f"{name}.{f.name}" for f in (*setting_fields(engine), *request_option_fields(engine))
        }
    assert fields <= covered


def test_defaults_match_the_library_defaults() -> None:
    parsed = parse()
    assert parsed["request"] == RenderRequest(  # every field at the library's default
        portrait=Path("face.png"), audio=Path("speech.wav"), output=Path("out.mp4")
    )
    assert parsed["engine"] == "warp" and parsed["cache_dir"] is None


def test_engine_choices_come_from_the_registry() -> None:
    engine_action = next(a for a in build_parser()._actions if a.dest == "engine")
    assert tuple(engine_action.choices) == tuple(ENGINES)
    assert engine_action.default == "warp"


def test_extreme_crop_is_upstream_extcrop() -> None:
    from lipsync_tool.engine.sadtalker.options import SadTalkerOptions

    assert SadTalkerOptions(preprocess="extreme_crop").upstream_preprocess == "extcrop"
    assert SadTalkerOptions(preprocess="full").upstream_preprocess == "full"


@pytest.mark.parametrize(
    "argv",
    [
        ["--fps", "0"],
        ["--fps", "500"],
        ["--expression-scale", "-1"],
        ["--max-duration", "0"],
        ["--wav2lip-batch-size", "0", "--engine", "wav2lip"],
        ["--sadtalker-batch-size", "0", "--engine", "sadtalker"],
        ["--wav2lip-crop", "50", "50", "10", "10", "--engine", "wav2lip"],
        ["--wav2lip-checkpoint", " ", "--engine", "wav2lip"],
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


def test_flags_the_engine_ignores_are_listed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            str(workdir / "astronaut.png"),
            str(workdir / "speech.wav"),
            str(workdir / "o.mp4"),
            "--dry-run",
            "--resolution",
            "512",
            "--enhancer",
            "gfpgan",
            "--wav2lip-nosmooth",
            "--seed",
            "3",
            "--fps",
            "30",
        ]
    )
    out = capsys.readouterr().out
    ignored = [line.split()[1] for line in out.splitlines() if line.startswith("ignored:")]
    assert code == 0
    assert sorted(ignored) == sorted(["--resolution", "--enhancer", "--wav2lip-nosmooth"])
    assert not (workdir / "o.mp4").exists()


def test_request_fields_an_engine_ignores_are_listed(workdir: Path) -> None:
    from lipsync_tool.renderer import Renderer

    renderer = Renderer("sadtalker", cache_dir=workdir / "cache", load=False)
    request = RenderRequest(
        portrait=workdir / "astronaut.png",
        audio=workdir / "speech.wav",
        output=workdir / "o.mp4",
        seed=3,
        blink=False,
        fps=30,
        expression_scale=1.2,
    )
    assert renderer.ignored(request) == ["--no-blink", "--seed"]


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
