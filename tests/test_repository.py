"""Pinned upstream checkouts against a local bare git repository made by the test (served as a file:// URL)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from lipsync_tool.errors import ResourceError
from lipsync_tool.resources.repository import (
    MARKER,
    SADTALKER_REPOSITORY,
    WAV2LIP_REPOSITORY,
    PinnedRepository,
    ensure_repository,
    repository_path,
    repository_problem,
)

from .local_services import run_concurrently

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

URL_ENV = "LIPSYNC_TEST_REPO_URL"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(file:// URL of a bare repo, pinned commit, a later commit): the pinned one is not a branch tip."""
    root = tmp_path_factory.mktemp("upstream")
    src = root / "src"
    src.mkdir()
    git("init", "-q", cwd=src)
    for name in ("inference.py", "audio.py", "temp/README.md"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(f"# {name}\n")
    git("add", ".", cwd=src)
    git("commit", "-q", "-m", "pinned", cwd=src)
    pinned = git("rev-parse", "HEAD", cwd=src)
    (src / "inference.py").write_text("# later\n")
    git("commit", "-q", "-am", "later", cwd=src)
    later = git("rev-parse", "HEAD", cwd=src)
    git("clone", "-q", "--bare", str(src), str(root / "bare.git"), cwd=root)
    return (root / "bare.git").as_uri(), pinned, later


@pytest.fixture()
def repo(upstream: tuple[str, str, str]) -> PinnedRepository:
    return PinnedRepository(
        engine="wav2lip",
        url="https://invalid.example/never-used.git",
        commit=upstream[1],
        required_files=("inference.py", "audio.py", "temp/README.md"),
        url_env=URL_ENV,
        licence="test",
    )


def environ(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LIPSYNC_OFFLINE"}
    return {**env, URL_ENV: url, **extra}


def counting_git(bin_dir: Path, log: Path) -> None:
    """A `git` on PATH that logs every call, then runs the real git."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "git"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {shutil.which("git")} "$@"\n')
    script.chmod(0o755)


def test_pinned_repositories_match_the_notes() -> None:
    assert WAV2LIP_REPOSITORY.commit == "5c90fa9b4a2c2a37d0b4ebf7633ac41534eb9941"
    assert SADTALKER_REPOSITORY.commit == "cd4c0465ae0b54a6f85af57f5c65fec9fe23e7f8"
    assert repository_path(WAV2LIP_REPOSITORY, Path("/c")) == Path("/c/wav2lip/repo")
    assert repository_problem(WAV2LIP_REPOSITORY, Path("/nonexistent")) == "not cloned yet"


def test_fresh_clone_is_shallow_verified_and_marked(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str]
) -> None:
    log = tmp_path / "git.log"
    counting_git(tmp_path / "bin", log)
    env = environ(upstream[0], PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    path = ensure_repository(repo, tmp_path / "cache", environ=env)
    assert path == tmp_path / "cache" / "wav2lip" / "repo"
    assert git("rev-parse", "HEAD", cwd=path) == upstream[1]
    assert (
        path / "inference.py"
    ).read_text() == "# inference.py\n"  # the pinned content, not the later one
    assert (path / ".git" / MARKER).read_text().strip() == upstream[1]
    assert git("rev-list", "--count", "HEAD", cwd=path) == "1"  # shallow
    assert f"fetch --depth 1 --no-tags origin {upstream[1]}" in log.read_text()
    assert repository_problem(repo, tmp_path / "cache") is None
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".repo-")]  # no temp dir left


def test_second_call_uses_the_checkout_without_git(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str]
) -> None:
    ensure_repository(repo, tmp_path, environ=environ(upstream[0]))
    no_git = environ(upstream[0], PATH=str(tmp_path / "empty-bin"), LIPSYNC_OFFLINE="1")
    assert ensure_repository(repo, tmp_path, environ=no_git) == repository_path(repo, tmp_path)


def test_server_refusing_fetch_by_sha_falls_back_to_full_fetch(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str]
) -> None:
    # protocol v0 over file:// refuses a sha that is not a branch tip, as some servers do
    env = environ(
        upstream[0],
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="protocol.version",
        GIT_CONFIG_VALUE_0="0",
    )
    path = ensure_repository(repo, tmp_path, environ=env)
    assert git("rev-parse", "HEAD", cwd=path) == upstream[1]
    assert repository_problem(repo, tmp_path) is None


def test_missing_commit_is_one_line_with_gits_words_and_the_manual_commands(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str]
) -> None:
    absent = replace(repo, commit="0123456789abcdef0123456789abcdef01234567")
    with pytest.raises(ResourceError) as caught:
        ensure_repository(absent, tmp_path, environ=environ(upstream[0]))
    message = str(caught.value)
    assert "\n" not in message
    assert "0123456789abcdef0123456789abcdef01234567" in message and upstream[0] in message
    assert f"git -C {repository_path(repo, tmp_path)} fetch --depth 1" in message
    assert not repository_path(repo, tmp_path).exists()
    assert [p.name for p in (tmp_path / "wav2lip").iterdir()] == [
        "repo.lock"
    ]  # nothing half-written


@pytest.mark.parametrize("damage", ["wrong_commit", "missing_file", "no_marker", "empty_dir"])
def test_broken_checkout_is_detected_and_cloned_again(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str], damage: str
) -> None:
    path = ensure_repository(repo, tmp_path, environ=environ(upstream[0]))
    if damage == "wrong_commit":
        git("fetch", "-q", upstream[0], upstream[2], cwd=path)
        git("checkout", "-q", "--detach", upstream[2], cwd=path)
        expected = "wrong commit"
    elif damage == "missing_file":
        (path / "audio.py").unlink()
        expected = "missing audio.py"
    elif damage == "no_marker":
        (path / ".git" / MARKER).unlink()
        expected = "no completion marker"
    else:
        shutil.rmtree(path)
        path.mkdir()
        expected = "not a git checkout"
    assert expected in (repository_problem(repo, tmp_path) or "")
    ensure_repository(repo, tmp_path, environ=environ(upstream[0]))
    assert repository_problem(repo, tmp_path) is None
    assert git("rev-parse", "HEAD", cwd=path) == upstream[1]
    assert (path / "audio.py").is_file()


def test_offline_error_names_the_url_commit_and_commands(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str]
) -> None:
    with pytest.raises(ResourceError) as caught:
        ensure_repository(repo, tmp_path, environ=environ(upstream[0], LIPSYNC_OFFLINE="1"))
    message = str(caught.value)
    assert "offline mode (LIPSYNC_OFFLINE is set)" in message and "not cloned yet" in message
    assert upstream[0] in message and upstream[1] in message and "git init" in message
    assert not repository_path(repo, tmp_path).exists()
    with pytest.raises(
        ResourceError, match="offline"
    ):  # the explicit argument wins over the environment
        ensure_repository(repo, tmp_path, offline=True, environ=environ(upstream[0]))


def test_git_missing_from_path_is_one_clear_line(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str]
) -> None:
    (tmp_path / "empty-bin").mkdir()
    with pytest.raises(ResourceError) as caught:
        ensure_repository(
            repo, tmp_path, environ=environ(upstream[0], PATH=str(tmp_path / "empty-bin"))
        )
    message = str(caught.value)
    assert (
        message.startswith("git is not installed")
        and "install git" in message
        and "\n" not in message
    )


def test_two_concurrent_ensures_clone_once(
    tmp_path: Path, repo: PinnedRepository, upstream: tuple[str, str, str]
) -> None:
    log = tmp_path / "git.log"
    counting_git(tmp_path / "bin", log)
    env = environ(upstream[0], PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    results = run_concurrently(lambda: ensure_repository(repo, tmp_path / "cache", environ=env), 2)
    assert results == [repository_path(repo, tmp_path / "cache")] * 2
    assert log.read_text().count(" fetch ") == 1
    assert repository_problem(repo, tmp_path / "cache") is None


def test_resources_subcommand_lists_fetches_verifies_and_clears_the_checkout(
    tmp_path: Path,
    repo: PinnedRepository,
    upstream: tuple[str, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lipsync_tool.cli import main
    from lipsync_tool.cli import resources as command

    monkeypatch.setattr(command, "REPOSITORIES", (repo,))
    monkeypatch.setenv("LIPSYNC_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(URL_ENV, upstream[0])
    monkeypatch.delenv("LIPSYNC_OFFLINE", raising=False)
    assert main(["resources", "list", "--engine", "wav2lip"]) == 0
    assert re.search(
        r"wav2lip-repo .* not cloned yet .*" + re.escape(str(tmp_path / "wav2lip" / "repo")),
        capsys.readouterr().out,
    )
    assert main(["resources", "verify", "wav2lip-repo"]) == 1
    capsys.readouterr()
    assert main(["resources", "fetch", "wav2lip-repo"]) == 0
    assert re.search(r"wav2lip-repo +git \w{10}  ok", capsys.readouterr().out)
    assert repository_problem(repo, tmp_path) is None
    assert main(["resources", "verify", "wav2lip-repo"]) == 0
    assert main(["resources", "clear", "wav2lip-repo"]) == 0
    assert not repository_path(repo, tmp_path).exists()
