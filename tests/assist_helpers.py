"""The assistant's prompt set (tests/data/assistant) for the tests: its cases, and a folder holding
its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lipsync_tool.assist.folder import Folder

DATA = Path(__file__).parent / "data" / "assistant"


SETS = ("prompts", "heldout", "blind")
"""The prompt sets: the one the rules were written against, one written after them, and one
written by someone who had not read them."""


def cases(*names: str) -> list[dict[str, Any]]:
    """Every case of the named sets (default: all of them), in order."""
    return [
        json.loads(line)
        for name in names or SETS
        if (DATA / f"{name}.jsonl").exists()
        for line in (DATA / f"{name}.jsonl").read_text().splitlines()
    ]


def folder_files() -> list[str]:
    """The files the cases' folder holds."""
    return list(json.loads((DATA / "folder.json").read_text())["files"])


def prompt_set_folder(root: Path, *extra: str) -> Folder:
    """`root` filled with the set's files (and `extra` ones), one byte each, scanned."""
    for name in (*folder_files(), *extra):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    return Folder.scan(root)
