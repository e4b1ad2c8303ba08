"""An argparse parser rebuilt from `data/wav2lip/wav2lip_inference_args.json` (upstream inference.py's flags).

Self-contained (standard library only): the upstream stand-in repository of the tests carries a copy of
this file next to its `inference.py`, so the stand-in accepts exactly what upstream's parser accepts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SPEC = Path(__file__).parent / "data" / "wav2lip" / "wav2lip_inference_args.json"
TYPES = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
}  # bool as upstream has it: bool("False") is True


def build_parser(spec: list[dict[str, Any]]) -> argparse.ArgumentParser:
    """The parser upstream builds: same flags, types, nargs, defaults, required flags and actions."""
    parser = argparse.ArgumentParser(description="rebuilt upstream Wav2Lip inference.py parser")
    for entry in spec:
        kwargs: dict[str, Any] = {}
        if "action" in entry:
            kwargs["action"] = entry["action"]
        if "type" in entry:
            kwargs["type"] = TYPES[entry["type"]["expr"]]
        for key in ("nargs", "default", "required", "help"):
            if key in entry:
                kwargs[key] = entry[key]
        parser.add_argument(*entry["flags"], **kwargs)
    return parser


def load_parser(path: Path = SPEC) -> argparse.ArgumentParser:
    return build_parser(json.loads(path.read_text(encoding="utf-8")))
