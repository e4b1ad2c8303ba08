"""Bad input at the CLI: one `error:` line on stderr, exit code 2, nothing written; warnings that still render."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.cli import main
from lipsync_tool.errors import InputError
from lipsync_tool.media.image import load_portrait
from lipsync_tool.media.probe import probe

from .conftest import speech_like, write_wav
from .inputs_helpers import (
    _empty_file,
    _random_bytes,
    empty_wav,
    faceless_portrait,
    folder_state,
    partial_files,
    video_with_audio,
    video_without_audio,
)


@pytest.fixture(scope="module")
def analyzer() -> object:
    from lipsync_tool.face.analyzer import FaceAnalyzer

    return FaceAnalyzer()


# --- the CLI: one line, exit 2, nothing written ------------------------------------------------
def _argv(
    d: Path,
    portrait: str = "astronaut.png",
    audio: str = "bursts.wav",
    output: str = "out/result.mp4",
) -> list[str]:
    return [str(d / portrait), str(d / audio), str(d / output)]


def _with_portrait(make: Callable[[Path], object], name: str) -> Callable[[Path, str], list[str]]:
    def case(d: Path, ffmpeg: str) -> list[str]:
        make(d / name)
        return _argv(d, portrait=name)

    return case


def _with_audio(make: Callable[[Path, str], Path]) -> Callable[[Path, str], list[str]]:
    def case(d: Path, ffmpeg: str) -> list[str]:
        return _argv(d, audio=make(d, ffmpeg).name)

    return case


def _small_portrait(path: Path) -> None:
    Image.open(path.parent / "astronaut.png").resize((63, 63)).save(path)


def _existing_output(d: Path, ffmpeg: str) -> list[str]:
    (d / "out" / "result.mp4").write_bytes(b"an earlier render")
    return _argv(d)


def _output_is_the_audio(d: Path, ffmpeg: str) -> list[str]:
    video_with_audio(ffmpeg, d / "bursts.wav", d / "out" / "talk.mp4")
    return _argv(d, audio="out/talk.mp4", output="out/../out/talk.mp4")


def _no_extension_then_bad_audio(d: Path, ffmpeg: str) -> list[str]:
    """The note about appending .mp4 must not become a second stderr line when the run then fails."""
    return _argv(d, audio=_empty_file(d, ffmpeg).name, output="out/result")


CLI_FAILURES: dict[str, tuple[Callable[[Path, str], list[str]], str]] = {
    "missing-portrait": (
        lambda d, f: _argv(d, portrait="nobody.png"),
        "PORTRAIT .*nobody.png does not exist",
    ),
    "no-face": (
        _with_portrait(faceless_portrait, "coffee.png"),
        "^error: no face found in PORTRAIT .*coffee.png",
    ),
    "too-small-portrait": (_with_portrait(_small_portrait, "tiny.png"), "63x63, too small"),
    "portrait-not-an-image": (
        _with_portrait(lambda p: p.write_text("text"), "fake.png"),
        "cannot read PORTRAIT",
    ),
    "empty-audio": (_with_audio(_empty_file), "AUDIO .*empty.wav is empty"),
    "undecodable-audio": (_with_audio(_random_bytes), "cannot read AUDIO .*noise.mp3"),
    "zero-sample-audio": (_with_audio(lambda d, f: empty_wav(d / "nothing.wav")), "zero samples"),
    "audio-without-sound-track": (
        _with_audio(lambda d, f: video_without_audio(f, d / "mute.mp4")),
        "no audio track",
    ),
    "too-long-audio": (
        lambda d, f: [*_argv(d), "--max-duration", "1"],
        "over the 1 s limit.*--max-duration",
    ),
    "existing-output": (_existing_output, "already exists; pass --overwrite"),
    "output-is-an-input": (_output_is_the_audio, "one of the input files"),
    "missing-output-folder": (
        lambda d, f: _argv(d, output="nowhere/result.mp4"),
        "folder of OUTPUT does not exist",
    ),
    "unknown-output-extension": (
        lambda d, f: _argv(d, output="out/result.avi"),
        "unsupported extension '.avi'",
    ),
    "output-is-a-folder": (lambda d, f: _argv(d, output="out"), "is a directory"),
    "no-extension-then-bad-audio": (_no_extension_then_bad_audio, "is empty"),
}


@pytest.mark.parametrize("case", list(CLI_FAILURES))
def test_bad_input_is_one_error_line_exit_2_and_nothing_written(
    workdir: Path, ffmpeg: str, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make, message = CLI_FAILURES[case]
    (workdir / "out").mkdir()
    argv = make(workdir, ffmpeg)
    before = folder_state(workdir)
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert re.search(message, lines[0]), lines[0]
    assert folder_state(workdir) == before, (
        "nothing written, nothing changed (the existing output byte for byte)"
    )
    assert not partial_files(workdir)


def test_the_faceless_portrait_really_has_no_face(tmp_path: Path, analyzer: object) -> None:
    """Precondition of the no-face CLI case: the analyzer finds nothing in the coffee photo."""
    image = load_portrait(faceless_portrait(tmp_path / "coffee.png"))
    with pytest.raises(InputError):
        analyzer.analyze(image)  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["no-face", "undecodable-audio", "huge-portrait"])
def test_real_process_exit_code_and_single_stderr_line(workdir: Path, case: str) -> None:
    """`python -m lipsync_tool` as a user runs it: native libraries and Python warnings write to the same stderr."""
    (workdir / "out").mkdir()
    if case == "huge-portrait":  # 90 MP: over our limit and over Pillow's warning threshold
        Image.new("1", (10000, 9000)).save(workdir / "huge.png")
        argv, message = _argv(workdir, portrait="huge.png"), "50 MP"
    else:
        make, message = CLI_FAILURES[case]
        argv = make(workdir, "")
    before = folder_state(workdir)
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    proc = subprocess.run(
        [sys.executable, "-m", "lipsync_tool", *argv],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert re.search(message, lines[0])
    assert folder_state(workdir) == before and not partial_files(workdir)


def test_silent_audio_warns_but_renders(
    workdir: Path, ffmpeg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    audio = write_wav(workdir / "quiet.wav", np.zeros(16000, np.float32))
    out = workdir / "quiet.mp4"
    code = main([str(workdir / "astronaut.png"), str(audio), str(out), "--no-upscale"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert any("silent" in line and "quiet.wav" in line for line in captured.err.splitlines())
    assert not any(line.startswith("error: ") for line in captured.err.splitlines())
    info = probe(ffmpeg, out)
    assert info.video is not None and info.audio is not None
    assert (info.video.width, info.video.height) == (512, 512)
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert not partial_files(workdir)


def test_overwrite_replaces_an_existing_output(
    workdir: Path, ffmpeg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    audio = write_wav(workdir / "short.wav", speech_like(1.0, [(0.2, 0.8)]))
    out = workdir / "result.mov"
    out.write_bytes(b"an earlier render")
    code = main(
        [str(workdir / "astronaut.png"), str(audio), str(out), "--no-upscale", "--overwrite"]
    )
    assert code == 0, capsys.readouterr().err
    info = probe(ffmpeg, out)
    assert info.video is not None and info.audio is not None
    assert out.read_bytes()[4:12] == b"ftypqt  ", "a QuickTime file, as the .mov extension asks"
    assert not partial_files(workdir)
