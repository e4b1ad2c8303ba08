"""The manifest: one render a row, in CSV or JSONL, turned into RenderRequests.

Columns: `portrait`, then `audio` or `text`, and `output` (relative to the output folder), plus any
RenderRequest field, which overrides the command's option for that row; `options` holds the
engine's own options (JSON in a CSV cell). Input paths are relative to the manifest's folder.
"""

from __future__ import annotations

import csv
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..option_specs import check_json_types
from ..request import RenderRequest

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FORBIDDEN = frozenset({"save_audio", "keep_temp"})
"""Fields that make no sense per row of a batch."""
TRUE, FALSE = frozenset({"true", "yes", "1", "on"}), frozenset({"false", "no", "0", "off"})


@dataclass(frozen=True)
class Row:
    """One manifest row: its number (the first data row is 1) and its values by column."""

    number: int
    values: dict[str, Any]


def read_manifest(path: Path) -> list[Row]:
    """The rows of a CSV or JSONL manifest; InputError when it cannot be read at all."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"MANIFEST {path}: use a .csv or .jsonl file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read MANIFEST {path} ({exc.strerror})") from exc
    rows = _csv_rows(text) if kind == "csv" else _jsonl_rows(text, path)
    if not rows:
        raise InputError(f"MANIFEST {path} has no rows; put one render on each line")
    return rows


def _csv_rows(text: str) -> list[Row]:
    reader = csv.DictReader(text.splitlines())
    rows = []
    for number, record in enumerate(reader, start=1):
        values = {k.strip(): v for k, v in record.items() if k is not None and v not in (None, "")}
        rows.append(Row(number, {k: _from_csv(k, v) for k, v in values.items()}))
    return rows


def _jsonl_rows(text: str, path: Path) -> list[Row]:
    rows: list[Row] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"MANIFEST {path} line {line_number}: not JSON ({exc.msg})") from None
        if not isinstance(values, dict):
            raise InputError(f"MANIFEST {path} line {line_number}: give a JSON object a line")
        rows.append(Row(len(rows) + 1, values))
    return rows


def _from_csv(column: str, text: str) -> Any:
    """A CSV cell as its field's type: numbers, true/false, JSON for `options`."""
    text = text.strip()
    if column == "options":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text  # the row's check says what is wrong with it
    hint = typing.get_type_hints(RenderRequest).get(column)
    args = set(typing.get_args(hint)) or {hint}
    if bool in args and text.lower() in TRUE | FALSE:
        return text.lower() in TRUE
    for kind in (int, float):
        if kind in args:
            try:
                return kind(text)
            except ValueError:
                continue
    return text


def row_request(
    row: Row, common: dict[str, Any], options: dict[str, Any], base: Path, out_dir: Path
) -> RenderRequest:
    """The RenderRequest of `row`: the command's fields and engine options, the row's over them;
    inputs relative to `base` (the manifest's folder), the output to `out_dir`."""
    values = dict(row.values)
    unknown = sorted(set(values) - set(RenderRequest.__dataclass_fields__))
    if unknown:
        raise InputError(f"unknown columns: {', '.join(unknown)}")
    refused = sorted(FORBIDDEN & set(values))
    if refused:
        raise InputError(f"{', '.join(refused)} cannot be set per row")
    check_json_types(RenderRequest, {k: v for k, v in values.items() if k != "options"}, "column")
    if "output" not in values:
        raise InputError("no output: name the video to write in the `output` column")
    row_options = values.pop("options", None) or {}
    if not isinstance(row_options, dict):
        raise InputError('options must be a JSON object, e.g. {"pads": [0, 20, 0, 0]}')
    for name in ("portrait", "audio", "export_cues"):
        if name in values:
            values[name] = (base if name != "export_cues" else out_dir) / str(values[name])
    output = Path(str(values.pop("output")))
    if output.is_absolute() or ".." in output.parts:
        raise InputError(f"output {output}: give a path inside --out-dir")
    merged = {**common, **values}
    if "text" in values:
        merged.pop("audio", None)
    if "audio" in values:
        merged.pop("text", None)
    engine_options = {**options, **row_options}
    return RenderRequest(output=out_dir / output, options=engine_options or None, **merged)
