"""`lipsync-tool demo OUTPUT`: the bundled public-domain portrait speaks a sentence (offline TTS, warp)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..demo import DEMO_TEXT, demo_request


def build(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of `lipsync-tool demo`."""
    parser.add_argument(
        "output", metavar="OUTPUT", type=Path, help="the video to write (.mp4, ...)"
    )
    parser.add_argument(
        "--text", default=DEMO_TEXT, help=f"what the portrait says (default: {DEMO_TEXT!r})"
    )
    parser.add_argument("--voice", default="en-us", help="eSpeak NG voice (default: en-us)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")


def run(args: argparse.Namespace) -> int:
    """Render the demo and say where it went."""
    from ..progress import ProgressReporter
    from ..renderer import Renderer

    request = demo_request(args.output, text=args.text, voice=args.voice, overwrite=args.overwrite)
    reporter = ProgressReporter(enabled=args.log_level in ("DEBUG", "INFO"))
    try:
        result = Renderer(progress=reporter).render(request, progress=reporter)
    finally:
        reporter.close()
    width, height = result.frame_size
    print(f"wrote {result.output} ({width}x{height}, {result.duration:.2f} s)")
    print("next: lipsync-tool PORTRAIT AUDIO OUTPUT with your own photo and recording")
    return 0
