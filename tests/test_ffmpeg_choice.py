"""Which ffmpeg runs: the bundled one by default, $LIPSYNC_FFMPEG when set, a clear error when it cannot."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lipsync_tool.errors import InputError
from lipsync_tool.media.encode import encoders_for
from lipsync_tool.media.locate import (
    FFMPEG_ENV,
    MINIMUM_VERSION,
    describe,
    find_ffmpeg,
    parse_encoders,
    parse_release,
    require_encoders,
)


def bundled() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def script(folder: Path, name: str, body: str) -> Path:
    """An executable shell script `name` in `folder`."""
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def pretender(folder: Path, version_line: str, drop_encoder: str = "") -> Path:
    """An 'ffmpeg' that reports `version_line` (and lacks `drop_encoder`) but runs the bundled one."""
    real = bundled()
    listing = subprocess.run(
        [real, "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    if drop_encoder:
        listing = "\n".join(
            line for line in listing.splitlines() if f" {drop_encoder} " not in line
        )
    (folder / "encoders.txt").write_text(listing)
    return script(
        folder,
        "ffmpeg",
        f'case "$*" in\n'
        f'  -version) echo "{version_line}"; exit 0 ;;\n'
        f'  "-hide_banner -encoders") cat "{folder / "encoders.txt"}"; exit 0 ;;\n'
        f"esac\n"
        f'echo "$*" >> "{folder / "calls.log"}"\n'
        f'exec "{real}" "$@"\n',
    )


def cli(args: list[str], env_update: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FFMPEG_ENV}
    env.update(env_update)
    return subprocess.run(
        [sys.executable, "-m", "lipsync_tool", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("line", "release"),
    [
        ("ffmpeg version 4.1-static https://johnvansickle.com/ffmpeg/", (4, 1)),
        ("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025", (5, 1)),
        ("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright", (9, 0)),
        ("ffmpeg version 6.0-essentials_build-www.gyan.dev", (6, 0)),
        ("ffmpeg version 3.4.11-0ubuntu0.1 Copyright (c) 2000-2022", (3, 4)),
        ("ffmpeg version N-113245-g0f5a2b8c4e Copyright", None),
        ("ffmpeg version 2024-01-01-git-e1c1dc8347-full_build-www.gyan.dev", None),
    ],
)
def test_release_is_read_from_the_version_line(line: str, release: tuple[int, int] | None) -> None:
    assert parse_release(line) == release


def test_the_bundled_ffmpeg_lists_the_encoders_every_container_needs() -> None:
    build = describe(bundled())
    assert build.version is not None and build.version >= MINIMUM_VERSION
    for container in ("mp4", "mov", "matroska", "webm"):
        assert set(encoders_for(container)) <= build.encoders, container
    assert "V..... = Video" not in build.encoders and "=" not in build.encoders
    assert parse_encoders(" V....D libx264   libx264 H.264\n A....D aac   AAC\n") == {
        "libx264",
        "aac",
    }


def test_the_bundled_ffmpeg_is_used_even_with_another_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = pretender(tmp_path, "ffmpeg version 5.1.9-0+deb12u1")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(FFMPEG_ENV, raising=False)
    assert find_ffmpeg() == bundled() != str(other)
    monkeypatch.setenv(FFMPEG_ENV, "ffmpeg")  # a bare name is looked up on PATH
    assert find_ffmpeg() == str(other)


def test_lipsync_ffmpeg_runs_every_step(tmp_path: Path, assets: Path) -> None:
    chosen = pretender(tmp_path, "ffmpeg version 5.1.9-0+deb12u1")
    out = tmp_path / "out.mp4"
    done = cli(
        [str(assets / "grace_hopper.jpg"), str(assets / "bursts.wav"), str(out), "--no-upscale"],
        {FFMPEG_ENV: str(chosen), "LIPSYNC_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert any("bursts.wav" in call for call in calls), (
        "the speech was decoded by the chosen ffmpeg"
    )
    assert any("rawvideo" in call for call in calls), "the video was encoded by the chosen ffmpeg"
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing-ffmpeg", f"{FFMPEG_ENV}=.*missing-ffmpeg is not an executable"),
        (
            lambda d: pretender(d, "ffmpeg version 4.0.6 Copyright (c) 2000-2020"),
            r"is ffmpeg 4\.0; lipsync-tool needs ffmpeg 4\.1 or newer: point LIPSYNC_FFMPEG",
        ),
        (lambda d: script(d, "ffmpeg", "echo hello\n"), "does not answer `-version` as ffmpeg"),
        (
            lambda d: pretender(d, "ffmpeg version 6.1.1", drop_encoder="libx264"),
            r"has no libx264 encoder, which \.mp4 output needs",
        ),
    ],
    ids=["missing", "too-old", "not-ffmpeg", "no-libx264"],
)
def test_an_unusable_choice_is_one_line_and_writes_nothing(
    tmp_path: Path, assets: Path, make, message: str
) -> None:
    import re

    chosen = make(tmp_path)
    out = tmp_path / "out.mp4"
    done = cli(
        [str(assets / "grace_hopper.jpg"), str(assets / "bursts.wav"), str(out)],
        {FFMPEG_ENV: str(chosen)},
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


def test_a_missing_encoder_is_per_container(tmp_path: Path) -> None:
    lacking = str(pretender(tmp_path, "ffmpeg version 6.1.1", drop_encoder="libx264"))
    require_encoders(lacking, encoders_for("webm"), ".webm output")
    with pytest.raises(InputError, match="libx264"):
        require_encoders(lacking, encoders_for("mp4"), ".mp4 output")
