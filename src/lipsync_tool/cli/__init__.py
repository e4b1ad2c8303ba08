"""The command line: parse flags, call the library, turn its errors into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType

from ..errors import LipSyncError
from .parser import LOG_LEVELS, Parser, UsageError

log = logging.getLogger("lipsync_tool")


@dataclass(frozen=True)
class Subcommand:
    """A subcommand whose module is imported only when it runs; the module has `build(parser)` and `run(args)`."""

    name: str
    module: str
    description: str
    log_level: str = "WARNING"

    def parser(self) -> argparse.ArgumentParser:
        parser = Parser(prog=f"lipsync-tool {self.name}", description=self.description)
        self._module().build(parser)
        parser.add_argument(
            "--log-level",
            choices=LOG_LEVELS,
            default=self.log_level,
            help=f"how much to log (default: {self.log_level})",
        )
        return parser

    def run(self, args: argparse.Namespace) -> int:
        return int(self._module().run(args))

    def _module(self) -> ModuleType:
        return import_module(self.module, __package__)


SUBCOMMANDS = {
    s.name: s
    for s in (
        Subcommand(
            "demo",
            ".demo",
            "Render the bundled public-domain portrait speaking a sentence (offline text to "
            "speech, warp engine): the quickest check that everything works.",
            log_level="INFO",
        ),
        Subcommand(
            "cues",
            ".cues",
            "Write the mouth cues of a speech recording in Rhubarb Lip Sync's format "
            "(shapes A-H and X).",
        ),
        Subcommand(
            "evaluate",
            ".evaluate",
            "Measure the lip sync, articulation and stability of any talking-head video.",
        ),
        Subcommand(
            "estimate",
            ".estimate",
            "Estimate a render's time, memory, disk and downloads from the inputs' headers, "
            "before running it; --calibrate measures this machine (about 30 s).",
        ),
        Subcommand(
            "batch",
            ".batch",
            "Render every row of a CSV or JSONL manifest on worker processes, each holding its "
            "models loaded: every row is checked first, each finished row is logged in "
            "OUT_DIR/results.jsonl, and --resume skips what was rendered before.",
            log_level="INFO",
        ),
        Subcommand(
            "serve",
            ".serve",
            "Serve the web app and the HTTP API, with render workers on a durable job queue "
            "(needs the [serve] extra).",
            log_level="INFO",
        ),
        Subcommand(
            "worker",
            ".worker",
            "Render jobs from a server's queue: more workers on this or other machines (with "
            "--queue redis://...).",
            log_level="INFO",
        ),
        Subcommand(
            "assist",
            ".assist",
            "Ask for a video in words: the assistant (a local language model) plans it from the "
            "files of this folder, shows the plan and its estimate, and renders it once you "
            "confirm (needs the [assist] extra).",
        ),
        Subcommand(
            "resources",
            ".resources",
            "List, fetch, verify or clear the downloaded model files.",
            log_level="INFO",
        ),
    )
}


def configure_logging(level: str) -> None:
    """Plain log lines on stderr for our loggers only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(levelname)s: %(message)s" if level == "DEBUG" else "%(message)s")
    )
    package_log = logging.getLogger("lipsync_tool")
    package_log.handlers[:] = [handler]
    package_log.setLevel(level)
    package_log.propagate = False


def _dispatch(argv: list[str]) -> int:
    if "--list-voices" in argv and "-h" not in argv and "--help" not in argv:
        from ..speech.tts import voice_table

        print(voice_table())
        return 0
    if argv and argv[0] in SUBCOMMANDS:
        command = SUBCOMMANDS[argv[0]]
        args = command.parser().parse_intermixed_args(argv[1:])
        configure_logging(args.log_level)
        return command.run(args)
    from .render import build_parser, run

    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    return run(args)


def _exit_code(run: Callable[[], int], debug: bool) -> int:
    try:
        return run()
    except UsageError as exc:
        print(f"error: {exc} (see lipsync-tool --help)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # our stdout was closed early (e.g. `| head`): not an error of ours
        sys.stdout = None  # keep the interpreter from failing to flush it at exit
        return 0
    except LipSyncError as exc:
        if debug:
            log.exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: say so in one line, the traceback only with DEBUG
        if debug:
            log.exception("internal error")
        print(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(rerun with --log-level DEBUG for details)",
            file=sys.stderr,
        )
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lipsync-tool` command; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    return _exit_code(lambda: _dispatch(args), debug="DEBUG" in args)
