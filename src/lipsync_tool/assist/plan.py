"""A model's answer turned into a checked plan, or into a question for the user.

The model proposes changes; code keeps the rules: files are only those the user named (a
follow-up keeps the last plan's), a recording replaces text and text a recording, values are
checked by `RenderRequest` itself, and a plan without a portrait or speech becomes a question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from ..engine.registry import DEFAULT_ENGINE, ENGINES
from ..errors import InputError
from ..request import RenderRequest
from .folder import Folder
from .grounding import grounded
from .mentions import Mentions, Question
from .schema import ASSISTED_FIELDS, DEFAULTS, MAX_TEXT
from .settings import stated_engine, stated_settings, stated_voice, talked_about

FILE_FIELDS = {"portrait": "portraits", "audio": "recordings"}
"""Request fields that name a file of the folder, and the folder's list each comes from."""


SPEAKING_FIELDS = ("voice", "rate", "pitch")
"""Fields of synthesised speech, dropped with the text."""


class PlanError(InputError):
    """The model's answer is not a plan the tool can run (asked again, or reported)."""


@dataclass(frozen=True)
class Plan:
    """An engine and the request fields that differ from their defaults (files by their names in
    the folder)."""

    engine: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    note: str = field(default="", compare=False)
    """What the user should know about the plan (words left untranslated)."""

    def to_json(self) -> dict[str, Any]:
        return {"engine": self.engine, "request": dict(self.fields)}

    def request(self, folder: Folder, output: str) -> RenderRequest:
        """The RenderRequest, files under `folder`, writing `output` unless the plan names one."""
        values = dict(self.fields)
        values.setdefault("output", output)
        for name in (*FILE_FIELDS, "output"):
            if name in values:
                values[name] = folder.root / values[name]
        return RenderRequest(**values)


def read_plan(
    raw: Mapping[str, Any],
    folder: Folder,
    mentions: Mentions,
    last: Plan | None,
    translates: bool = True,
) -> Plan | Question:
    """The plan a model's `raw` answer (the schema of `schema.plan_schema`) describes;
    `translates`: whether the model's translations of the words can be used."""
    if raw.get("action") == "ask":
        return Question("model", str(raw.get("question") or "What would you like to change?"))
    if raw.get("action") != "render":
        raise PlanError("the answer is neither a plan nor a question")
    if raw.get("engine") is not None and raw["engine"] not in ENGINES:
        raise PlanError(f"no engine named {raw['engine']!r}")
    # an engine changes only when the user names one (a small model picks one unasked)
    engine = stated_engine(mentions.plain) or (last.engine if last else DEFAULT_ENGINE)
    changes = dict(raw.get("request") or {})
    if last is not None and "audio" in last.fields and "text" in changes and not mentions.quotes:
        changes.pop("text")  # a follow-up swaps a recording for words only when they are quoted
    unknown = set(changes) - set(ASSISTED_FIELDS)
    if unknown:
        raise PlanError(f"the plan sets fields the assistant may not: {', '.join(sorted(unknown))}")
    _check_values(changes)
    fields = dict(last.fields) if last else {}
    if "audio" in changes:
        fields.pop("text", None)
    if "text" in changes:
        fields.pop("audio", None)
    fields.update(
        (name, value)
        for name, value in changes.items()
        if name in FILE_FIELDS or talked_about(name, mentions.plain)
    )  # settings the request does not talk about keep the last plan's values
    for name, kind in FILE_FIELDS.items():
        chosen = _named_file(fields.pop(name, None), kind, folder, mentions, last, name)
        if chosen is not None:
            fields[name] = chosen
    if "audio" in fields and fields["audio"] != (last.fields.get("audio") if last else None):
        fields.pop("text", None)  # a recording named now is the speech
    elif "text" not in fields and len(mentions.quotes) == 1:
        fields.pop("audio", None)
        fields["text"] = mentions.quotes[0]  # words quoted are the speech
    if "text" not in fields:
        for name in SPEAKING_FIELDS:
            fields.pop(name, None)  # how eSpeak speaks means nothing for a recording
    if fields.get("output") not in (
        *mentions.outputs,
        *([last.fields.get("output")] if last else []),
    ):
        fields.pop("output", None)  # a name the user did not give: the tool picks one
    if len(mentions.outputs) == 1:
        fields["output"] = mentions.outputs[0]  # the one new video the user named
    if "portrait" not in fields:
        listed = ", ".join(folder.portraits) or "none yet"
        return Question("portrait", f"Which photo should I animate? The folder holds: {listed}.")
    fields.update(_stated(mentions, last.fields if last else {}, speaks="audio" not in fields))
    fields, note = grounded(fields, mentions, last.fields if last else {}, translates)
    if len(str(fields.get("text") or "")) > MAX_TEXT:
        raise PlanError(f"the text to speak is longer than {MAX_TEXT} characters")
    if "audio" not in fields and not str(fields.get("text") or "").strip():
        return Question(
            "speech", "What should they say? Give me the words, or name a recording in the folder."
        )
    fields = {
        k: v
        for k, v in fields.items()
        if k in FILE_FIELDS or k in ("text", "output") or v != getattr(DEFAULTS, k)
    }
    plan = Plan(engine, fields, note)
    try:
        plan.request(folder, "check.mp4")
    except InputError as error:
        raise PlanError(str(error)) from None
    return plan


def _check_values(changes: Mapping[str, Any]) -> None:
    """Refuse values the request would refuse (out of range, wrong kind), whether kept or not:
    such an answer is asked for again."""
    values = {k: v for k, v in changes.items() if k not in FILE_FIELDS and k != "output"}
    try:
        replace(DEFAULTS, **values)
    except (InputError, TypeError, ValueError) as error:
        raise PlanError(str(error)) from None


def _stated(mentions: Mentions, last: Mapping[str, Any], speaks: bool) -> dict[str, Any]:
    """The settings the user's words ask for (`settings`): a voice for words to speak, a
    language for a recording."""
    stated = stated_settings(mentions.plain, last)
    voice = stated_voice(mentions.words)
    if voice is not None:
        stated["voice" if speaks else "language"] = voice if speaks else voice.split("-")[0]
    if not speaks:
        for name in SPEAKING_FIELDS:
            stated.pop(name, None)
    return stated


def _named_file(
    proposed: Any, kind: str, folder: Folder, mentions: Mentions, last: Plan | None, name: str
) -> str | None:
    """The file for `name`: the model's choice if the user named it now, else the one file of
    that kind the user named now, else the last plan's (kept while the model keeps any)."""
    listed = set(getattr(folder, kind))
    named = [f for f in mentions.files if f in listed]
    earlier = last.fields.get(name) if last else None
    if proposed is not None and proposed in named:
        return str(proposed)
    if len(named) == 1:
        return named[0]  # "same thing but with anna.png"
    if earlier is not None and proposed is not None:
        return str(earlier)  # a follow-up that names no file keeps the last plan's
    return None


def default_output(plan: Plan, folder: Folder) -> str:
    """A video name beside the portrait that does not exist yet: grace.mp4, grace-2.mp4, …"""
    stem = PurePosixPath(plan.fields["portrait"]).with_suffix("")
    candidate, number = f"{stem}.mp4", 2
    while (folder.root / candidate).exists():
        candidate, number = f"{stem}-{number}.mp4", number + 1
    return candidate
