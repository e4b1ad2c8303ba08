"""`lipsync-tool evaluate VIDEO`: parse the flags, call ``evaluate_video``, print a table, write JSON.

Usage::

    lipsync-tool evaluate VIDEO [--audio A] [--phones P.json] [--portrait IMG]
                                [--json PATH] [--max-lag N] [--max-height LINES]

``--audio`` defaults to the video's own audio track (an audio stream that starts late in the
container is padded, so its delay is measured).

Phones file (``--phones``): the true timing of each phone, in seconds on the video's timeline.
Either a list of entries, each ``{"phone": "b", "start": 2.239, "end": 2.289}`` with the phone
in ARPAbet (case and stress digits ignored; add ``"ipa": true`` to an entry whose phone is
IPA, e.g. ``"ɑː"``), or an object ``{"alphabet": "ipa", "phones": [...]}`` whose entries are
all IPA (``"alphabet": "arpabet"`` is the default). IPA is mapped with
``speech.ipa.ipa_to_arpabet``. Silent phones (sil, sp, pau, _) only delimit speech.

JSON written by ``--json`` (``EvaluationReport.to_dict()``; null where not measured):
``video, audio, portrait, phones, frames, fps, frame_size [w, h], faces_found, detections,
face_height_px, seconds``;
``sync {r, r_speech, lag_frames, lag_subframe, r_best, max_lag, frames, correlations}``;
``articulation`` (null without --phones) ``{closure, opening, rounding, speech_frames}``, each
of the three ``{passed, total, share, threshold, intervals [{phone, start, end, first_frame,
last_frame, value, passed}]}``;
``identity`` (null without --portrait) ``{ssim_mean, ssim_outside_blinks, ssim_p05, ssim_min,
eyes_ssim, frames, blink_frames}``;
``stability {jitter_px, silent_frames, runs, frames_measured}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError

JSON_KEYS = (
    "video",
    "audio",
    "portrait",
    "phones",
    "frames",
    "fps",
    "frame_size",
    "faces_found",
    "detections",
    "face_height_px",
    "sync",
    "articulation",
    "identity",
    "stability",
    "seconds",
)
"""Top-level keys of the JSON report."""


def build(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of `lipsync-tool evaluate` to ``parser``."""
    parser.add_argument(
        "video", metavar="VIDEO", type=Path, help="the talking-head video to measure"
    )
    parser.add_argument(
        "--audio",
        type=Path,
        default=None,
        help="speech to measure the sync against (default: the video's own audio track)",
    )
    parser.add_argument(
        "--phones",
        type=Path,
        default=None,
        metavar="P.json",
        help='true phone timings: [{"phone": "b", "start": 1.2, "end": 1.25}, ...] in ARPAbet '
        '(or IPA: "ipa": true per entry, or {"alphabet": "ipa", "phones": [...]}); '
        "enables the articulation checks",
    )
    parser.add_argument(
        "--portrait",
        type=Path,
        default=None,
        metavar="IMG",
        help="the portrait the video was made from; enables the upper-face SSIM",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write every measurement as JSON to PATH (default: print the table only)",
    )
    parser.add_argument(
        "--max-lag",
        type=int,
        default=5,
        metavar="N",
        help="largest audio/video lag searched, in frames (default: 5)",
    )
    parser.add_argument(
        "--max-height",
        type=int,
        default=720,
        metavar="LINES",
        help="analyse taller videos scaled down to this height; landmarks are scaled back (default: 720)",
    )


def run(args: argparse.Namespace) -> int:
    """Run `lipsync-tool evaluate` with parsed ``args``: print the table, write the JSON; return 0."""
    from ..evaluation import evaluate_video

    report = evaluate_video(
        args.video,
        audio=args.audio,
        phones=args.phones,
        portrait=args.portrait,
        max_lag=args.max_lag,
        max_height=args.max_height,
    )
    print(report.format_table())
    if args.json is not None:
        text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
        try:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write --json {args.json}: {exc.strerror or exc}") from exc
        print(f"wrote {args.json}")
    return 0
