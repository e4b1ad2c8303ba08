"""`lipsync-tool PORTRAIT AUDIO OUTPUT`: flags generated from the request and the engine registry."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from .. import __version__
from ..engine.registry import DEFAULT_ENGINE, ENGINES, request_option_fields, setting_fields
from ..option_specs import option_fields
from ..request import RenderRequest
from .flags import add_flags, given, given_flags
from .parser import LOG_LEVELS, Parser, UsageError

log = logging.getLogger("lipsync_tool")

EXAMPLES = """\
examples:
  lipsync-tool demo out.mp4
      a bundled portrait says a sentence (offline text to speech): check the install
  lipsync-tool portrait.jpg speech.wav out.mp4
      built-in engine, offline, 1080p H.264 + AAC
  lipsync-tool portrait.png speech.mp3 out.mp4 --expression-scale 1.3 --no-upscale
      livelier mouth, video kept at the portrait's own size
  lipsync-tool portrait.jpg speech.m4a out.mp4 --dry-run
      check the inputs and print what would run, without rendering
  lipsync-tool portrait.jpg speech.wav out.mp4 --transcript "Hello and welcome" --export-cues cues.json
      words known: aligned visemes; the mouth cues also written for 2D animation
  lipsync-tool portrait.jpg out.mp4 --text "Guten Tag!" --voice de --save-audio gruss.wav
      no recording: the text is spoken offline by eSpeak NG, its phoneme timings drive the mouth

subcommands:
  demo OUTPUT       render the bundled portrait speaking a sentence
  cues AUDIO        mouth cues only (see lipsync-tool cues --help)
  evaluate VIDEO    quality measurements (see lipsync-tool evaluate --help)
  resources ACTION  list, fetch, verify or clear the neural engines' model files
  estimate PORTRAIT what a render would cost (see lipsync-tool estimate --help)
  batch MANIFEST    many renders from a CSV or JSONL manifest (see lipsync-tool batch --help)
  serve             the web app and HTTP API on a job queue (see lipsync-tool serve --help)
  worker            more render workers for a server's queue

environment:
  LIPSYNC_CACHE_DIR   where downloaded models are kept (default: the platform user cache dir)
"""

USAGE = """lipsync-tool PORTRAIT AUDIO OUTPUT [options]
       lipsync-tool PORTRAIT OUTPUT --text TEXT [options]
       lipsync-tool {demo,cues,evaluate,resources,estimate,batch,serve,worker} ..."""

REQUEST_DEST = "request."
POSITIONAL = ("portrait", "audio", "output")


def settings_dest(engine: str) -> str:
    return f"{engine}.settings."


def options_dest(engine: str) -> str:
    return f"{engine}.options."


def build_parser() -> argparse.ArgumentParser:
    """The parser of a render: its flags come from RenderRequest and every registered engine."""
    parser = Parser(
        prog="lipsync-tool",
        usage=USAGE,
        description="Turn a still portrait and speech into a lip-synced talking video in full HD.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "portrait",
        metavar="PORTRAIT",
        type=Path,
        help="photo of a face (jpg, png, webp, bmp, tiff)",
    )
    parser.add_argument(
        "paths",
        metavar="AUDIO OUTPUT",
        type=Path,
        nargs="+",
        help="AUDIO: speech, any file ffmpeg decodes (wav, mp3, m4a, ogg, flac, video with sound); "
        "left out with --text. OUTPUT: the video to write (.mp4, .mov, .mkv or .webm)",
    )
    parser.add_argument(
        "--list-voices", action="store_true", help="list the eSpeak NG voices for --voice and exit"
    )
    parser.add_argument("--version", action="version", version=f"lipsync-tool {__version__}")
    general = add_render_options(parser)
    general.add_argument(
        "--dry-run", action="store_true", help="check the inputs, print the plan and exit"
    )
    general.add_argument(
        "--log-level", choices=LOG_LEVELS, default="INFO", help="how much to log (default: INFO)"
    )
    return parser


def add_render_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """--engine, --cache-dir, --install-deps, every RenderRequest flag and every engine's flags;
    the `general` group, for the caller's own general flags."""
    general = parser.add_argument_group("general")
    summaries = "; ".join(f"{name}: {cls.summary}" for name, cls in ENGINES.items())
    general.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        default=DEFAULT_ENGINE,
        help=f"engine to use (default: {DEFAULT_ENGINE}). {summaries}",
    )
    general.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where downloaded models are kept (default: $LIPSYNC_CACHE_DIR or the user cache dir)",
    )
    general.add_argument(
        "--install-deps", action="store_true", help="let the engine install what it lacks"
    )
    groups: dict[str, argparse._ArgumentGroup] = {"general": general}
    for field in option_fields(RenderRequest):
        group = field.spec.group
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        add_flags(groups[group], (field,), REQUEST_DEST)
    for name, engine in ENGINES.items():
        settings, options = setting_fields(engine), request_option_fields(engine)
        if not settings and not options:
            continue
        engine_group = parser.add_argument_group(f"{name} engine")
        add_flags(engine_group, settings, settings_dest(name))
        add_flags(engine_group, options, options_dest(name))
    return general


def request_fields(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The RenderRequest fields whose flags were given, and the chosen engine's options given."""
    fields = given(args, option_fields(RenderRequest), REQUEST_DEST)
    engine = ENGINES[args.engine]
    return fields, given(args, request_option_fields(engine), options_dest(engine.name))


def split_paths(paths: list[Path], speaking_text: bool) -> tuple[Path | None, Path]:
    """(AUDIO, OUTPUT) from the positional paths after PORTRAIT."""
    if speaking_text:
        if len(paths) != 1:
            raise UsageError("with --text/--text-file give PORTRAIT OUTPUT, without AUDIO")
        return None, paths[0]
    if len(paths) != 2:
        raise UsageError("give PORTRAIT AUDIO OUTPUT (or PORTRAIT OUTPUT with --text)")
    return paths[0], paths[1]


def request_from_args(args: argparse.Namespace) -> RenderRequest:
    """The RenderRequest the parsed flags describe (the chosen engine's options included)."""
    fields, options = request_fields(args)
    audio, output = split_paths(args.paths, "text" in fields)
    return RenderRequest(
        portrait=args.portrait, audio=audio, output=output, options=options or None, **fields
    )


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The chosen engine's load-time settings that were given."""
    engine = ENGINES[args.engine]
    return given(args, setting_fields(engine), settings_dest(engine.name))


def other_engines_flags(args: argparse.Namespace) -> list[str]:
    """Flags given for engines other than the chosen one (ignored)."""
    flags = []
    for name, engine in ENGINES.items():
        if name != args.engine:
            flags += given_flags(args, setting_fields(engine), settings_dest(name))
            flags += given_flags(args, request_option_fields(engine), options_dest(name))
    return flags


def run(args: argparse.Namespace) -> int:
    """Render (or plan) what `args` describe; print one summary line."""
    from ..progress import ProgressReporter
    from ..renderer import Renderer

    request = request_from_args(args)
    ignored = other_engines_flags(args)
    reporter = ProgressReporter(enabled=args.log_level in ("DEBUG", "INFO"))
    try:
        renderer = Renderer(
            args.engine,
            cache_dir=args.cache_dir,
            install_deps=args.install_deps,
            load=False,  # inputs are checked before anything loads or downloads
            progress=reporter,
            **settings_from_args(args),
        )
        if args.dry_run:
            from ..estimate import estimate

            plan = renderer.plan(request)
            plan.ignored[:0] = ignored
            print(plan.describe())
            found = estimate(
                request, args.engine, cache_dir=args.cache_dir, settings=settings_from_args(args)
            )
            print(found.describe())
            return 0
        for flag in ignored:
            log.info("%s is ignored by the %s engine", flag, args.engine)
        result = renderer.render(request, progress=reporter)
    finally:
        reporter.close()
    width, height = result.frame_size
    total = sum(result.stage_seconds.values())
    print(
        f"wrote {result.output} ({width}x{height}, {result.duration:.2f} s, "
        f"{result.fps:g} fps) in {total:.1f} s"
    )
    if result.temp_dir:
        print(f"temporary files kept in {result.temp_dir}")
    return 0
