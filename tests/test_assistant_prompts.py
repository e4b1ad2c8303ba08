"""The assistant's prompt set (tests/data/assistant) is sound: enough cases of every kind, every
expected plan a valid RenderRequest of the CLI's own checks, naming only files of its folder or
of its prompt, with voices eSpeak has."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lipsync_tool.assist.schema import COMMON_VOICES
from lipsync_tool.engine.registry import ENGINES
from lipsync_tool.request import RenderRequest

from .assist_helpers import cases, folder_files

KINDS = {"plain", "language", "phrasing", "injection", "missing", "follow-up"}
TOPICS = {"portrait", "speech", "unknown_file", "outside"}
PATH_FIELDS = ("portrait", "audio", "output")


def test_the_set_has_forty_cases_or_more_of_every_kind() -> None:
    counts = Counter(case["kind"] for case in cases("prompts"))
    assert sum(counts.values()) >= 40
    assert set(counts) == KINDS and min(counts.values()) >= 3, counts
    ids = [case["id"] for case in cases()]
    assert len(ids) == len(set(ids)), "ids are unique"


def _plans(case: dict[str, Any]) -> list[dict[str, Any]]:
    earlier = [turn["plan"] for turn in case.get("history", [])]
    return [p for p in [*earlier, case["expect"]] if "question" not in p]


@pytest.mark.parametrize("case", cases(), ids=lambda case: case["id"])
def test_every_expected_plan_is_a_valid_request_naming_only_known_files(
    case: dict[str, Any], tmp_path: Path
) -> None:
    from lipsync_tool.speech.tts import voices

    known = {v.language for v in voices()}
    assert set(COMMON_VOICES) <= known, "the assistant offers only voices eSpeak has"
    files = set(folder_files())
    question = case["expect"].get("question")
    assert question is None or question in TOPICS
    named = {w.strip("'\".,;:!?") for w in case["prompt"].split() if "." in w.strip(".")}
    if question == "unknown_file":
        assert named - files, "the prompt names a file the folder lacks"
    if question == "outside":
        assert any(n.startswith(("/", "~")) or ".." in n for n in named), (
            "a path outside the folder"
        )
    for plan in _plans(case):
        assert set(plan) == {"engine", "request"} and plan["engine"] in ENGINES
        fields = dict(plan["request"])
        for name in PATH_FIELDS:
            if name in fields:
                named = fields[name]
                assert (
                    named in files
                    or named in case["prompt"]
                    or any(named in turn["prompt"] for turn in case.get("history", []))
                ), f"{name} {named} is neither in the folder nor named by the user"
                if name != "output":
                    assert named in files, f"{name} {named} must exist in the folder"
                fields[name] = tmp_path / named
        fields.setdefault("output", tmp_path / "out.mp4")
        request = RenderRequest(**fields)  # the checks the CLI runs on its flags
        assert request.voice in known, f"eSpeak has no voice {request.voice}"
        assert request.voice in COMMON_VOICES, f"a plan cannot name {request.voice}"
        unchanged = {f for f in plan["request"] if getattr(RenderRequest, f, None) is not None}
        defaults = RenderRequest(portrait="p.jpg", output="o.mp4", text="x")
        for name in unchanged - set(PATH_FIELDS) - {"text"}:
            assert getattr(request, name) != getattr(defaults, name), (
                f"{name} is listed but keeps its default"
            )


def test_scoring_takes_the_expected_plan_or_an_accepted_wording_only() -> None:
    from lipsync_tool.assist.scoring import score_case

    case = next(c for c in cases() if c["id"] == "follow-01")
    assert score_case(case["expect"], case).right
    other = {**case["expect"], "request": {**case["expect"]["request"]}}
    other["request"]["text"] = "willkommen in unserem laden!"  # an accepted wording
    assert score_case(other, case).right
    for wrong in ("Now in German", "Bienvenue", case["history"][0]["plan"]["request"]["text"]):
        other["request"]["text"] = wrong
        assert not score_case(other, case).right, wrong
    plain = next(c for c in cases() if c["id"] == "odd-04")  # the exact words, capitals and all
    assert not score_case({**plain["expect"], "request": {**plain["expect"]["request"],
                           "text": "Sale ends Friday"}}, plain).right  # fmt: skip
    invented = {**plain["expect"], "request": {**plain["expect"]["request"], "audio": "x.wav"}}
    assert score_case(invented, plain).invented == ("x.wav",)
    assert not score_case(
        {"question": "speech"}, next(c for c in cases() if c["id"] == "ask-01")
    ).right
