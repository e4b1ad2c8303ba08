"""`lipsync-tool estimate PORTRAIT [AUDIO | --text …]`: what a render would cost, or
`--calibrate` to measure this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from ..request import RenderRequest
from .parser import UsageError
from .render import add_render_options, request_fields, settings_from_args


def build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "portrait", metavar="PORTRAIT", type=Path, nargs="?", help="photo of a face"
    )
    parser.add_argument(
        "audio", metavar="AUDIO", type=Path, nargs="?", help="speech (left out with --text)"
    )
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="measure the engine's costs on this machine (about 30 s) and keep them",
    )
    add_render_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..estimate import estimate

    if args.calibrate:
        from ..calibration import calibrate

        cost, path = calibrate(args.engine, args.cache_dir, settings_from_args(args))
        print(json.dumps(cost.__dict__) if args.json else f"{args.engine} calibrated: {path}")
        return 0
    if args.portrait is None:
        raise UsageError("give PORTRAIT and AUDIO (or PORTRAIT with --text), or --calibrate")
    fields, options = request_fields(args)
    if args.audio is None and "text" not in fields:
        raise UsageError("give AUDIO, or --text/--text-file to estimate synthesised speech")
    request = RenderRequest(
        portrait=args.portrait,
        audio=args.audio,
        output=Path.cwd() / "estimate.mp4",
        options=options or None,
        **fields,
    )
    if not request.portrait.is_file():
        raise InputError(f"PORTRAIT {request.portrait} does not exist")
    found = estimate(
        request, args.engine, cache_dir=args.cache_dir, settings=settings_from_args(args)
    )
    print(json.dumps(found.to_dict()) if args.json else found.describe())
    return 0
