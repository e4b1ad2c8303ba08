"""results.jsonl: one line per finished row, written as each row ends, and what `--resume` reads.

Only the batch's own process writes it, one whole line per `write`, flushed and synced, so an
interrupted run leaves complete lines (a torn last line is ignored when read back).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..request import RenderRequest

RESULTS_NAME = "results.jsonl"
NOT_HASHED = frozenset({"portrait", "audio", "output", "overwrite", "keep_temp", "export_cues"})
"""Request fields left out of a row's hash: files enter by their content, file handling not."""


def row_hash(request: RenderRequest, engine: str, settings: dict[str, Any]) -> str:
    """What a row's output depends on: the engine and its settings, the options, and the bytes
    of its portrait and speech. Equal hashes, equal videos."""
    digest = hashlib.sha256()
    fields = {k: v for k, v in request.to_dict().items() if k not in NOT_HASHED}
    digest.update(json.dumps([engine, settings, fields], sort_keys=True, default=str).encode())
    for path in (request.portrait, request.audio):
        digest.update(b"\0file\0")
        if path is not None:
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
    return digest.hexdigest()


class ResultsLog:
    """The results file of one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / RESULTS_NAME

    def done(self) -> dict[str, str]:
        """Output (relative to the folder) → hash of its last successful render."""
        finished: dict[str, str] = {}
        for record in self.records():
            if record.get("status") == "succeeded" and record.get("hash"):
                finished[record["output"]] = record["hash"]
            elif record.get("output") in finished:
                finished.pop(record["output"])
        return finished

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line torn by a crash
                continue
        return records

    def append(self, record: dict[str, Any]) -> None:
        stamped = {**record, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        line = json.dumps(stamped, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
