"""A conversation's earlier turns as a client keeps them (the web page, which the server does not
remember between requests): each plan is checked against the schema a model's answer is held to,
so a follow-up never builds on a plan the assistant could not have made."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from ..engine.registry import ENGINES
from ..errors import InputError
from ..media.output import CONTAINERS
from .folder import Folder
from .mentions import outside
from .plan import Plan
from .schema import MAX_TEXT, plan_schema

MAX_TURNS = 6
"""Earlier turns a client may send: each is shown to the model, whose context is small."""


class HistoryError(InputError):
    """An earlier turn's plan is not one the assistant could have made with these files."""


def checked_history(
    turns: Sequence[tuple[str, Mapping[str, Any]]], folder: Folder, voices: tuple[str, ...]
) -> list[tuple[str, Plan]]:
    """The turns (prompt, plan as `Plan.to_json` gives it) as plans, each checked."""
    if len(turns) > MAX_TURNS:
        raise HistoryError(f"history has {len(turns)} turns; send at most the last {MAX_TURNS}")
    request_schema = plan_schema(folder, voices)["properties"]["request"]["properties"]
    checked = []
    for index, (prompt, raw) in enumerate(turns):
        try:
            checked.append((prompt, checked_plan(raw, folder, request_schema)))
        except InputError as error:
            raise HistoryError(f"history[{index}].plan: {error}") from None
    return checked


def checked_plan(raw: Mapping[str, Any], folder: Folder, request_schema: Mapping[str, Any]) -> Plan:
    """`raw` ({"engine", "request"}) as a Plan, if every field is one the schema allows with a
    value it allows, files are the folder's, and `RenderRequest` accepts the whole."""
    engine = raw.get("engine")
    fields = raw.get("request")
    if engine not in ENGINES:
        raise InputError(f"no engine named {str(engine)[:40]!r}")
    if not isinstance(fields, Mapping):
        raise InputError("request must be an object of request fields")
    for name, value in fields.items():
        if name not in request_schema:
            raise InputError(f"{str(name)[:40]!r} is not a field the assistant sets")
        if not _fits(value, request_schema[name]):
            shown = json.dumps(value, ensure_ascii=False)[:60]
            raise InputError(f"{name} {shown} is not a value the assistant gives")
    output = fields.get("output")
    if output is not None and (
        outside(output) or "/" in output or PurePosixPath(output).suffix.lower() not in CONTAINERS
    ):
        raise InputError(f"output {output[:60]!r} is not the name of a video")
    if "portrait" not in fields:
        raise InputError("the plan has no portrait")
    if len(str(fields.get("text") or "")) > MAX_TEXT:
        raise InputError(f"the text to speak is longer than {MAX_TEXT} characters")
    plan = Plan(str(engine), dict(fields))
    plan.request(folder, "check.mp4")  # RenderRequest's own checks: speech, ranges, extras
    return plan


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether `value` is one the field's schema (`schema.field_schema`) allows."""
    if "enum" in schema:
        return isinstance(value, str) and value in schema["enum"]
    kind = schema.get("type")
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int if kind == "integer" else (int, float)):
        return False
    low, high = schema.get("minimum"), schema.get("maximum")
    return (low is None or value >= low) and (high is None or value <= high)
