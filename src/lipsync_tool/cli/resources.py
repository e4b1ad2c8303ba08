"""`lipsync-tool resources {list,fetch,verify,clear} [--engine E]`: manage the model cache."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ..cache import resolve_cache_dir
from ..errors import InputError
from ..resources.repository import (
    REPOSITORIES,
    PinnedRepository,
    ensure_repository,
    repository_path,
    repository_problem,
)
from ..resources.store import ResourceStore, stamp_path
from ..resources.table import RESOURCES, Resource

ENGINES = tuple(sorted({r.engine for r in RESOURCES}))


def build(parser: argparse.ArgumentParser) -> None:
    """Arguments of the `resources` subcommand."""
    parser.add_argument(
        "action", choices=("list", "fetch", "verify", "clear"), help="what to do with the cache"
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="only these files, or the upstream source checkouts wav2lip-repo / sadtalker-repo (default: all of the engine)",
    )
    parser.add_argument(
        "--engine", choices=ENGINES, default=None, help="only this engine's files (default: all)"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="the cache (default: $LIPSYNC_CACHE_DIR or the user cache dir)",
    )


def repository_name(repo: PinnedRepository) -> str:
    """The NAME of an engine's pinned source checkout in `resources` commands, e.g. "wav2lip-repo"."""
    return f"{repo.engine}-repo"


def _selected(args: argparse.Namespace) -> tuple[list[Resource], list[PinnedRepository]]:
    chosen = [r for r in RESOURCES if args.engine in (None, r.engine)]
    repos = [r for r in REPOSITORIES if args.engine in (None, r.engine)]
    if args.names:
        unknown = sorted(
            set(args.names) - {r.name for r in chosen} - {repository_name(r) for r in repos}
        )
        if unknown:
            raise InputError(
                f"unknown resource {', '.join(unknown)}; `lipsync-tool resources list` shows the names"
            )
        chosen = [r for r in chosen if r.name in args.names]
        repos = [r for r in repos if repository_name(r) in args.names]
    return chosen, repos


def _repository_lines(
    action: str, repos: list[PinnedRepository], cache_dir: Path
) -> tuple[list[str], int]:
    """One line per pinned source checkout (upstream modes), and how many are unusable."""
    lines, problems = [], 0
    for repo in repos:
        if action == "fetch":
            ensure_repository(repo, cache_dir)
        problem = repository_problem(repo, cache_dir)
        problems += problem is not None
        status = "ok" if problem is None else problem
        lines.append(
            f"{repo.engine:<10} {repository_name(repo):<36} {'git ' + repo.commit[:10]:>10}  {status:<16} "
            f"{repository_path(repo, cache_dir)}"
        )
    return lines, problems


def run(args: argparse.Namespace) -> int:
    """Carry out one `resources` action; prints one line per file."""
    store = ResourceStore(resolve_cache_dir(args.cache_dir))
    chosen, repos = _selected(args)
    if args.action == "clear":
        engines = {r.engine for r in chosen} if not args.names else set()
        for engine in sorted(engines):
            shutil.rmtree(store.cache_dir / engine, ignore_errors=True)
            print(f"cleared {store.cache_dir / engine}")
        for resource in chosen if args.names else ():
            store.path_of(resource).unlink(missing_ok=True)
            stamp_path(store.path_of(resource)).unlink(missing_ok=True)
            print(f"removed {store.path_of(resource)}")
        for repo in repos if args.names else ():
            shutil.rmtree(repository_path(repo, store.cache_dir), ignore_errors=True)
            print(f"removed {repository_path(repo, store.cache_dir)}")
        return 0
    if args.action == "fetch":
        store.ensure(chosen)
    problems = 0
    for resource in chosen:
        state = (
            store.status(resource, thorough=args.action == "verify")
            if args.action != "list" or store.path_of(resource).exists()
            else None
        )
        if state is None:
            status = "not downloaded"
        else:
            status = "ok" if state.problem is None else state.problem
            problems += state.problem is not None
        size = f"{resource.size / 1e6:.0f} MB" if resource.size else "size unknown"
        print(
            f"{resource.engine:<10} {resource.name:<36} {size:>10}  {status:<16} {store.path_of(resource)}"
        )
    lines, repo_problems = _repository_lines(args.action, repos, store.cache_dir)
    for line in lines:
        print(line)
    return 1 if args.action == "verify" and problems + repo_problems else 0
