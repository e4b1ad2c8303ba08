"""The JSON schema a model's plan is decoded under: the fields the assistant may set, with the
choices and ranges `RenderRequest` declares (one source), and file names limited to the folder's."""

from __future__ import annotations

from typing import Any

from ..engine.registry import ENGINES
from ..option_specs import option_fields
from ..request import RenderRequest
from .folder import Folder

ASSISTED_FIELDS = (
    "portrait",
    "audio",
    "text",
    "output",
    "voice",
    "rate",
    "pitch",
    "language",
    "expression_scale",
    "still",
    "blink",
    "fps",
    "upscaler",
    "trim_silence",
    "normalize_loudness",
)
"""The request fields a plan may set; the rest keep their defaults."""
OUTPUT_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*\.(mp4|mov|mkv|webm)$"
MAX_TEXT = 2000
"""Characters of text to speak in one plan."""


def field_schema(name: str, folder: Folder, voices: tuple[str, ...]) -> dict[str, Any]:
    """The schema of one request field."""
    if name == "portrait":
        return {"enum": list(folder.portraits)}
    if name == "audio":
        return {"enum": list(folder.recordings)}
    if name == "output":
        return {"type": "string", "pattern": OUTPUT_PATTERN}
    if name == "text":
        return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
    if name == "voice":
        return {"enum": list(voices)}
    if name == "language":
        return {"enum": sorted({v.split("-")[0] for v in voices})}
    spec = {f.name: f for f in option_fields(RenderRequest)}[name]
    if spec.spec.choices:
        return {"enum": list(spec.spec.choices)}
    if isinstance(spec.default, bool):
        return {"type": "boolean"}
    kind = spec.spec.kind or type(spec.default)
    schema: dict[str, Any] = {"type": "integer" if kind is int else "number"}
    if spec.spec.minimum is not None:
        schema["minimum"] = spec.spec.minimum
    if spec.spec.maximum is not None:
        schema["maximum"] = spec.spec.maximum
    return schema


def plan_schema(folder: Folder, voices: tuple[str, ...]) -> dict[str, Any]:
    """A plan (`action` render, with `engine` and `request`) or a question (`action` ask)."""
    fields = {name: field_schema(name, folder, voices) for name in ASSISTED_FIELDS}
    return {
        "type": "object",
        "properties": {
            "action": {"enum": ["render", "ask"]},
            "question": {"type": "string", "maxLength": 400},
            "engine": {"enum": list(ENGINES)},
            "request": {"type": "object", "properties": fields, "additionalProperties": False},
        },
        "required": ["action"],
        "additionalProperties": False,
    }
