"""Upstream source repositories pinned to one commit: cloned shallowly into the cache, verified on every use.

A checkout lives at `cache_dir/<engine>/repo`. It counts as complete only when `.git/HEAD` names the pinned
commit, every required file is there and the completion marker (written last, after verification) names the
commit too; anything else (an interrupted clone, a hand-edited checkout, another commit) is cloned again.
Clones go into a temporary directory beside the target, under a file lock, and are renamed into place.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResourceError
from .store import offline_from_environment

log = logging.getLogger(__name__)

MARKER = "lipsync-complete"
"""File inside `.git/` holding the commit, written once the checkout has been verified."""
LOCK_TIMEOUT = 1800.0  # s: a concurrent run may be cloning over a slow link
STDERR_LINES = 4


@dataclass(frozen=True)
class PinnedRepository:
    """An upstream repository at one commit, and what a usable checkout of it must contain."""

    engine: str
    """Engine that runs code from it: "wav2lip" | "sadtalker"."""
    url: str
    """Where it is cloned from (overridden by the environment variable `url_env`)."""
    commit: str
    """The pinned commit, 40 hex digits."""
    required_files: tuple[str, ...]
    """Files whose absence means a broken or partial checkout."""
    url_env: str
    """Environment variable that overrides `url` (tests, local mirrors)."""
    licence: str


WAV2LIP_REPOSITORY = PinnedRepository(
    engine="wav2lip",
    url="https://github.com/Rudrabha/Wav2Lip.git",
    commit="5c90fa9b4a2c2a37d0b4ebf7633ac41534eb9941",
    required_files=(
        "inference.py",
        "audio.py",
        "hparams.py",
        "models/wav2lip.py",
        "face_detection/api.py",
        "face_detection/detection/sfd/sfd_detector.py",
        "temp/README.md",
    ),
    url_env="LIPSYNC_WAV2LIP_REPO_URL",
    licence="Wav2Lip: non-commercial research use (see its README)",
)

SADTALKER_REPOSITORY = PinnedRepository(
    engine="sadtalker",
    url="https://github.com/OpenTalker/SadTalker.git",
    commit="cd4c0465ae0b54a6f85af57f5c65fec9fe23e7f8",
    required_files=(
        "inference.py",
        "src/utils/audio.py",
        "src/facerender/animate.py",
        "src/config/facerender.yaml",
    ),
    url_env="LIPSYNC_SADTALKER_REPO_URL",
    licence="Apache-2.0 (SadTalker)",
)

REPOSITORIES: tuple[PinnedRepository, ...] = (WAV2LIP_REPOSITORY, SADTALKER_REPOSITORY)


def repository_path(repo: PinnedRepository, cache_dir: Path) -> Path:
    """cache_dir / repo.engine / "repo"."""
    return Path(cache_dir) / repo.engine / "repo"


def repository_url(repo: PinnedRepository, environ: Mapping[str, str] | None = None) -> str:
    """The URL to clone from: `repo.url_env` when set, else `repo.url`."""
    return (os.environ if environ is None else environ).get(repo.url_env, "").strip() or repo.url


def repository_problem(repo: PinnedRepository, cache_dir: Path) -> str | None:
    """None when a complete checkout of repo.commit is there, else why not (missing, partial, wrong commit)."""
    return _checkout_problem(repository_path(repo, cache_dir), repo, need_marker=True)


def _checkout_problem(path: Path, repo: PinnedRepository, *, need_marker: bool) -> str | None:
    git_dir = path / ".git"
    if not path.exists():
        return "not cloned yet"
    if not (git_dir / "HEAD").is_file():
        return f"partial checkout ({path} is not a git checkout)"
    head = (git_dir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    if head != repo.commit:
        return f"wrong commit (HEAD is {head[:40]}, expected {repo.commit})"
    absent = [name for name in repo.required_files if not (path / name).is_file()]
    if absent:
        return f"partial checkout (missing {', '.join(absent)})"
    if need_marker:
        marker = git_dir / MARKER
        if not marker.is_file() or marker.read_text(encoding="utf-8").strip() != repo.commit:
            return "partial checkout (interrupted clone: no completion marker)"
    return None


def manual_commands(repo: PinnedRepository, path: Path, url: str) -> list[str]:
    """The shell commands that make the same checkout by hand."""
    return [
        f"git init {path}",
        f"git -C {path} fetch --depth 1 {url} {repo.commit}",
        f"git -C {path} checkout --detach {repo.commit}",
        f"echo {repo.commit} > {path / '.git' / MARKER}",
    ]


def clone_commands(repo: PinnedRepository, path: Path, url: str) -> list[tuple[str, ...]]:
    """The git commands a clone runs, in order (for --dry-run; the fallback full fetch is not shown)."""
    return [
        ("git", "init", "-q", str(path)),
        ("git", "-C", str(path), "fetch", "--depth", "1", "--no-tags", url, repo.commit),
        ("git", "-C", str(path), "checkout", "-q", "--detach", repo.commit),
    ]


def ensure_repository(
    repo: PinnedRepository,
    cache_dir: Path,
    *,
    offline: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Path of a verified checkout of repo.commit; shallow-clones it (into a temp dir beside, renamed into place,
    under a file lock) when missing or broken.

    `environ` replaces os.environ for the URL override, the offline switch, finding git and git's own environment.
    Raises ResourceError (one line) when git is missing, offline (LIPSYNC_OFFLINE), or the clone fails.
    """
    env = dict(os.environ if environ is None else environ)
    path = repository_path(repo, cache_dir)
    problem = repository_problem(repo, cache_dir)
    if problem is None:
        return path
    url = repository_url(repo, env)
    how = "; to do it by hand: " + " && ".join(manual_commands(repo, path, url))
    if offline_from_environment(env) if offline is None else offline:
        raise ResourceError(
            f"the {repo.engine} source checkout is unusable ({problem}) and offline mode "
            f"(LIPSYNC_OFFLINE is set) forbids cloning {url} at {repo.commit}{how}"
        )
    git = shutil.which("git", path=env.get("PATH", os.defpath))
    if git is None:
        raise ResourceError(
            f"git is not installed (not found on PATH) but the {repo.engine} upstream mode needs "
            f"a checkout of {url} at {repo.commit}; install git (e.g. apt install git){how}"
        )
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path) + ".lock").acquire(timeout=LOCK_TIMEOUT):
            problem = repository_problem(
                repo, cache_dir
            )  # another run may have cloned it while we waited
            if problem is None:
                return path
            log.warning("cloning %s at %s into %s (%s)", url, repo.commit[:12], path, problem)
            _clone_into_place(repo, path, url, git, env, how)
    except Timeout as exc:
        raise ResourceError(
            f"another lipsync-tool run has held the lock on {path} for 30 minutes; is it stuck?"
        ) from exc
    return path


def _clone_into_place(
    repo: PinnedRepository, path: Path, url: str, git: str, env: dict[str, str], how: str
) -> None:
    temp = Path(tempfile.mkdtemp(prefix=".repo-", dir=path.parent))
    try:
        _clone(repo, temp, url, git, {**env, "GIT_TERMINAL_PROMPT": "0"}, how)
        problem = _checkout_problem(temp, repo, need_marker=False)
        if problem is not None:
            raise ResourceError(f"the clone of {url} at {repo.commit} is unusable ({problem}){how}")
        (temp / ".git" / MARKER).write_text(repo.commit + "\n", encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        os.replace(temp, path)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


def _clone(
    repo: PinnedRepository, temp: Path, url: str, git: str, env: dict[str, str], how: str
) -> None:
    """Shallow fetch of the commit; a server that refuses fetching by sha gets a full fetch instead."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [git, "-C", str(temp), *args],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def fail(step: str, result: subprocess.CompletedProcess[str]) -> ResourceError:
        tail = (
            " | ".join(line.strip() for line in result.stderr.strip().splitlines()[-STDERR_LINES:])
            or f"exit status {result.returncode}"
        )
        return ResourceError(
            f"could not {step} {url} at {repo.commit} for the {repo.engine} upstream mode: "
            f"git says: {tail}{how}"
        )

    for args in (("init", "-q"), ("remote", "add", "origin", url)):
        result = run(*args)
        if result.returncode != 0:
            raise fail("prepare a clone of", result)
    shallow = run("fetch", "--depth", "1", "--no-tags", "origin", repo.commit)
    if shallow.returncode != 0:
        log.info(
            "shallow fetch by sha refused (%s); fetching the whole history",
            " | ".join(shallow.stderr.strip().splitlines()[-2:]),
        )
        full = run("fetch", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*")
        if full.returncode != 0:
            raise fail("fetch", full)
        if run("cat-file", "-e", repo.commit + "^{commit}").returncode != 0:
            raise fail(
                "fetch",
                subprocess.CompletedProcess([], 1, "", f"commit {repo.commit} is not in {url}"),
            )
    checkout = run("-c", "advice.detachedHead=false", "checkout", "-q", "--detach", repo.commit)
    if checkout.returncode != 0:
        raise fail("check out", checkout)
