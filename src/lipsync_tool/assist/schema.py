"""The JSON schema a model's plan is decoded under: the fields the assistant may set, with the
choices and ranges `RenderRequest` declares (one source), and file names limited to the folder's."""

from __future__ import annotations

from pathlib import Path
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
COMMON_VOICES = (
    "en-us", "en-gb", "en-gb-x-rp", "de", "fr-fr", "es", "es-419", "it", "pt", "pt-br", "nl",
    "pl", "ru", "sv", "da", "nb", "fi", "cs", "tr", "el", "ja", "cmn", "hi", "ar", "uk",
)  # fmt: skip
"""The voices a plan may name: each of eSpeak's 140 more would slow every token the grammar
checks, for voices the assistant is rarely asked for (the CLI's --voice has them all)."""
DEFAULTS = RenderRequest(portrait=Path("p.jpg"), output=Path("o.mp4"), text="x")
"""A request with every assisted field at its default."""
MAX_TEXT = 2000
"""Characters of text to speak in one plan."""


def request_option(name: str) -> Any:
    """`RenderRequest`'s option for field `name`: its default and spec (choices, range)."""
    return {f.name: f for f in option_fields(RenderRequest)}[name]


def field_schema(name: str, folder: Folder, voices: tuple[str, ...]) -> dict[str, Any]:
    """The schema of one request field."""
    if name == "portrait":
        return {"enum": list(folder.portraits)}
    if name == "audio":
        return {"enum": list(folder.recordings)}
    if name == "output":
        return {"type": "string"}  # only a name the user gave stands (`plan.read_plan`)
    if name == "text":
        return {"type": "string"}  # its length is checked after: a bounded string bloats grammars
    if name == "voice":
        return {"enum": list(voices)}
    if name == "language":
        return {"enum": sorted({v.split("-")[0] for v in voices})}
    spec = request_option(name)
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
    """A plan (`action` render, with `engine` and `request`) or a question (`action` ask); the
    voices are those of `COMMON_VOICES` that `voices` (eSpeak's) has."""
    offered = tuple(v for v in COMMON_VOICES if v in voices)
    fields = {name: field_schema(name, folder, offered) for name in ASSISTED_FIELDS}
    # a folder without recordings (or portraits) offers none: an empty choice breaks grammars
    fields = {name: schema for name, schema in fields.items() if schema.get("enum") != []}
    return {
        "type": "object",
        "properties": {
            "action": {"enum": ["render", "ask"]},
            "question": {"type": "string"},
            "engine": {"enum": list(ENGINES)},
            "request": {"type": "object", "properties": fields, "additionalProperties": False},
        },
        "required": ["action"],
        "additionalProperties": False,
    }
