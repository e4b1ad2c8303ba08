"""How an assistant's answer scores against a prompt-set case (tests/data/assistant): whole plans,
field by field, and the rules (no file the user did not name)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PATH_FIELDS = ("portrait", "audio", "output")


@dataclass(frozen=True)
class CaseScore:
    """One case: whether the whole answer is right, and each scored field's verdict."""

    right: bool
    fields: dict[str, bool]
    invented: tuple[str, ...]
    """Files the answer names that the user never named."""


def answer_json(answer: Any) -> dict[str, Any]:
    """A plan as {"engine", "request"}, a question as {"question": topic}."""
    if hasattr(answer, "to_json"):
        return dict(answer.to_json())
    return {"question": answer.topic}


def score_case(got: Mapping[str, Any], case: Mapping[str, Any]) -> CaseScore:
    """`got` (as `answer_json` gives it, or {"error": …}) against the case's expectation. A
    question's topic must match; a plan's engine and every field expected or set must match (or
    be one of the case's `accept`ed wordings, ignoring case and punctuation)."""
    expected = case["expect"]
    named = " ".join([case["prompt"], *(t["prompt"] for t in case.get("history", []))]).lower()
    request = dict(got.get("request", {}))
    invented = tuple(
        str(request[f])
        for f in PATH_FIELDS
        if f in request and str(request[f]).lower() not in named
    )
    if "question" in expected:
        right = got.get("question") == expected["question"]
        return CaseScore(right, {"question": right}, invented)
    if "request" not in got:
        verdicts = {name: False for name in ["engine", *expected["request"]]}
        return CaseScore(False, verdicts, invented)
    verdicts = {"engine": got.get("engine") == expected["engine"]}
    for name in sorted(set(expected["request"]) | set(request)):
        verdicts[name] = request.get(name) == expected["request"].get(name) or any(
            _same(request.get(name), value) for value in case.get("accept", {}).get(name, [])
        )
    return CaseScore(all(verdicts.values()), verdicts, invented)


def _same(got: Any, expected: Any) -> bool:
    """Equal values; texts equal ignoring case and punctuation."""
    if isinstance(got, str) and isinstance(expected, str):
        return _words(got) == _words(expected)
    return bool(got == expected)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())
