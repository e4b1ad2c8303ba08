"""Input validation of OUTPUT: folder, container from the extension, never an input, never clobbered."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lipsync_tool.errors import InputError
from lipsync_tool.media.output import OutputTarget, resolve_output

from .inputs_helpers import partial_files, video_with_audio


# --- output ------------------------------------------------------------------------------------
def test_output_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as caught:
        resolve_output(tmp_path / "missing" / "out.mp4", [], overwrite=True)
    assert str(tmp_path / "missing") in str(caught.value)


@pytest.fixture()
def video_input(tmp_path: Path, assets: Path, ffmpeg: str) -> Path:
    """An input that is a legal output name: speech inside an mp4."""
    (tmp_path / "clips").mkdir()
    return video_with_audio(ffmpeg, assets / "bursts.wav", tmp_path / "clips" / "talk.mp4")


SPELLINGS: dict[str, Callable[[Path], Path]] = {
    "same": lambda p: p,
    "dot-dot": lambda p: p.parent / ".." / p.parent.name / p.name,
    "dot": lambda p: p.parent / "." / p.name,
    "relative": lambda p: Path(os.path.relpath(p)),
    "symlink": lambda p: _link(p, os.symlink),
    "hard-link": lambda p: _link(p, os.link),
}


def _link(target: Path, make: Callable[[Path, Path], None]) -> Path:
    link = target.parent.parent / f"link-to-{target.name}"
    make(target, link)
    return link


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_output_is_never_an_input(
    video_input: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.chdir(video_input.parent.parent)
    output = SPELLINGS[spelling](video_input)
    before = video_input.read_bytes()
    with pytest.raises(InputError, match="one of the input files"):
        resolve_output(output, [Path("/elsewhere/portrait.png"), video_input], overwrite=True)
    assert video_input.read_bytes() == before


def test_existing_output_is_kept_without_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "out.mp4"
    existing.write_bytes(b"keep me")
    with pytest.raises(InputError, match="already exists; pass --overwrite"):
        resolve_output(existing, [], overwrite=False)
    target = resolve_output(existing, [], overwrite=True)
    assert target.path == existing and target.overwrite
    assert existing.read_bytes() == b"keep me", "resolving never touches the file"


@pytest.mark.parametrize(
    ("name", "container"),
    [
        ("out.mp4", "mp4"),
        ("out.mov", "mov"),
        ("out.mkv", "matroska"),
        ("out.webm", "webm"),
        ("OUT.MP4", "mp4"),
        ("out", "mp4"),
    ],
)
def test_the_extension_decides_the_container(tmp_path: Path, name: str, container: str) -> None:
    target = resolve_output(tmp_path / name, [], overwrite=False)
    assert target.container == container
    assert target.path.is_absolute()
    if "." not in name:
        assert target.path == tmp_path / f"{name}.mp4", "no extension: .mp4 is appended"


@pytest.mark.parametrize("name", ["out.avi", "out.wav", "out.gif", "out.mp4.txt", "out.MPG"])
def test_unknown_output_extension_is_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="unsupported extension") as caught:
        resolve_output(tmp_path / name, [], overwrite=True)
    assert ".mp4" in str(caught.value) and ".webm" in str(caught.value)


@pytest.mark.parametrize("name", ["renders", "renders.mp4"])
def test_output_that_is_a_folder_is_rejected(tmp_path: Path, name: str) -> None:
    """`lipsync-tool p.jpg a.wav renders/` must not quietly write renders.mp4 beside the folder."""
    (tmp_path / name).mkdir()
    with pytest.raises(InputError, match="is a directory"):
        resolve_output(tmp_path / name, [], overwrite=True)


def test_partial_file_is_hidden_beside_the_output(tmp_path: Path) -> None:
    target = resolve_output(tmp_path / "out.mkv", [], overwrite=False)
    first, second = target.partial_path(), target.partial_path()
    assert first.parent == tmp_path and first != second
    assert first.name.startswith(".out.") and first.match(".*.partial.*") and first.suffix == ".mkv"


def test_commit_never_clobbers_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    target = resolve_output(tmp_path / "out.mp4", [], overwrite=False)
    (tmp_path / "out.mp4").write_bytes(b"someone else's")
    partial = target.partial_path()
    partial.write_bytes(b"ours")
    with pytest.raises(InputError, match="already exists"):
        target.commit(partial)
    assert (tmp_path / "out.mp4").read_bytes() == b"someone else's"
    assert not partial_files(tmp_path)
    replacing = OutputTarget(tmp_path / "out.mp4", overwrite=True)
    partial.write_bytes(b"ours")
    replacing.commit(partial)
    assert (tmp_path / "out.mp4").read_bytes() == b"ours" and not partial_files(tmp_path)
