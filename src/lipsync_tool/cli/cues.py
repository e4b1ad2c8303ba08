"""`lipsync-tool cues AUDIO`: the mouth cues of a recording (`lipsync_tool.cues`), no portrait, no video."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..option_specs import OptionField, option_fields
from ..request import RenderRequest
from .flags import add_flags, given

FIELDS = ("visemes", "language", "transcript", "asr", "max_duration")
"""The RenderRequest fields the cues take, with the same flags and defaults as a render."""
DEST = "cues."


def _fields() -> tuple[OptionField, ...]:
    return tuple(f for f in option_fields(RenderRequest) if f.name in FIELDS)


def build(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of `lipsync-tool cues`."""
    parser.add_argument("audio", metavar="AUDIO", type=Path, help="speech: any file ffmpeg decodes")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="write to this .json or .tsv file (default: JSON on stdout)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the output file if it exists"
    )
    add_flags(parser, _fields(), DEST)


def run(args: argparse.Namespace) -> int:
    """Print the cues as JSON, or write them to --output."""
    from ..mouth_cues import cues

    if args.output is not None and args.output.exists() and not args.overwrite:
        from ..errors import InputError

        raise InputError(f"{args.output} already exists; pass --overwrite to replace it")
    track = cues(args.audio, **given(args, _fields(), DEST))
    if args.output is None:
        print(track.text(".json"), end="")
    else:
        track.write(args.output, overwrite=args.overwrite)
        print(f"wrote {args.output} ({track.method} visemes)")
    return 0
