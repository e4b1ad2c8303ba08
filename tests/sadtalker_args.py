"""An argparse parser rebuilt from `data/sadtalker/sadtalker_inference_args.json` (upstream inference.py's flags).

Self-contained (standard library only): the stand-in repository of the tests carries a copy of this file and of the
JSON next to its `inference.py`, so the stand-in accepts exactly what upstream's parser accepts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SPEC = Path(__file__).parent / "data" / "sadtalker" / "sadtalker_inference_args.json"
TYPES = {"str": str, "int": int, "float": float}


def build_parser(spec: list[dict[str, Any]]) -> argparse.ArgumentParser:
    """The parser upstream builds: same flags, types, nargs, defaults, choices, dests and actions."""
    parser = argparse.ArgumentParser()
    for entry in spec:
        kwargs: dict[str, Any] = {}
        if "type" in entry:
            kwargs["type"] = TYPES[entry["type"]["expr"]]
        for key in ("action", "nargs", "default", "choices", "dest", "help"):
            if key in entry:
                kwargs[key] = entry[key]
        parser.add_argument(*entry["flags"], **kwargs)
    return parser


def load_parser(path: Path = SPEC) -> argparse.ArgumentParser:
    """The rebuilt parser of the JSON at `path`."""
    return build_parser(json.loads(Path(path).read_text(encoding="utf-8")))
