"""A model's answer becomes a checked plan or a question: over the prompt set with a perfect model
(whole plans and, for follow-ups, only the changes), and with a model that invents files, leaves
things out or breaks the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lipsync_tool.assist.folder import Folder
from lipsync_tool.assist.mentions import Question, read_mentions
from lipsync_tool.assist.plan import Plan, PlanError, default_output, read_plan
from lipsync_tool.assist.schema import ASSISTED_FIELDS, DEFAULTS, plan_schema

from .assist_helpers import cases, prompt_set_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return prompt_set_folder(tmp_path_factory.mktemp("work"))


def plan_cases() -> list[dict[str, Any]]:
    return [c for c in cases() if "question" not in c["expect"]]


def _last(case: dict[str, Any]) -> Plan | None:
    if "history" not in case:
        return None
    earlier = case["history"][-1]["plan"]
    return Plan(earlier["engine"], earlier["request"])


def _compare(plan: Plan | Question, case: dict[str, Any]) -> None:
    assert isinstance(plan, Plan), plan
    assert plan.to_json() == case["expect"]


@pytest.mark.parametrize("case", plan_cases(), ids=lambda case: case["id"])
def test_a_perfect_models_answer_gives_the_expected_plan(
    case: dict[str, Any], folder: Folder
) -> None:
    mentions = read_mentions(case["prompt"], folder)
    last = _last(case)
    request = case["expect"]["request"]
    # a field left out keeps the last plan's value: what went back to its default is said
    reset = {k: getattr(DEFAULTS, k) for k in (last.fields if last else {}) if k not in request}
    reset.pop("text", None)  # text goes when a recording comes
    whole = {
        "action": "render",
        "engine": case["expect"]["engine"],
        "request": {**request, **reset},
    }
    _compare(read_plan(whole, folder, mentions, last), case)
    if last is not None:  # a follow-up answered with only what changes
        changes = {k: v for k, v in request.items() if last.fields.get(k) != v}
        raw = {
            "action": "render",
            "engine": case["expect"]["engine"],
            "request": {**changes, **reset},
        }
        _compare(read_plan(raw, folder, mentions, last), case)


def test_what_the_user_did_not_say_is_asked_for(folder: Folder) -> None:
    def ask(prompt: str, request: dict[str, Any]) -> Plan | Question:
        raw = {"action": "render", "request": request}
        return read_plan(raw, folder, read_mentions(prompt, folder), None)

    no_portrait = ask("Make her say 'hi'", {"text": "hi", "portrait": "anna.png"})
    assert isinstance(no_portrait, Question) and no_portrait.topic == "portrait"
    assert "grace.jpg" in no_portrait.text, "the question lists the folder's portraits"
    no_speech = ask("Animate grace.jpg", {"portrait": "grace.jpg"})
    assert isinstance(no_speech, Question) and no_speech.topic == "speech"
    model = read_plan(
        {"action": "ask", "question": "Which voice?"}, folder, read_mentions("x", folder), None
    )
    assert model == Question("model", "Which voice?")


def test_files_and_outputs_the_user_did_not_name_are_not_used(folder: Folder) -> None:
    prompt = "Make grace.jpg say 'hello'"
    raw = {
        "action": "render",
        "request": {"portrait": "anna.png", "text": "hello", "output": "x.mp4"},
    }
    plan = read_plan(raw, folder, read_mentions(prompt, folder), None)
    assert isinstance(plan, Plan) and plan.fields == {"portrait": "grace.jpg", "text": "hello"}
    spoken = read_plan(
        {"action": "render", "request": {"portrait": "grace.jpg", "text": "hi"}},
        folder,
        read_mentions("grace.jpg with welcome.wav", folder),
        None,
    )
    assert isinstance(spoken, Plan) and spoken.fields == {
        "portrait": "grace.jpg",
        "audio": "welcome.wav",
    }


def test_answers_outside_the_rules_are_refused(folder: Folder) -> None:
    mentions = read_mentions("grace.jpg says 'hi'", folder)
    base = {"portrait": "grace.jpg", "text": "hi"}
    for raw, message in [
        ({"action": "render", "request": {**base, "overwrite": True}}, "may not: overwrite"),
        ({"action": "render", "request": {**base, "rate": 1000}}, "rate .* between 80 and 450"),
        ({"action": "render", "engine": "magic", "request": base}, "no engine named 'magic'"),
        ({"action": "dance"}, "neither a plan nor a question"),
    ]:
        with pytest.raises(PlanError, match=message):
            read_plan(raw, folder, mentions, None)


def test_the_schema_offers_only_the_folders_files_and_the_requests_ranges(folder: Folder) -> None:
    schema = plan_schema(folder, ("en-us", "en-gb", "de"))
    fields = schema["properties"]["request"]["properties"]
    assert set(fields) == set(ASSISTED_FIELDS)
    assert set(fields["portrait"]["enum"]) == set(folder.portraits)
    assert set(fields["audio"]["enum"]) == set(folder.recordings)
    assert fields["rate"] == {"type": "integer", "minimum": 80, "maximum": 450}
    assert fields["still"] == {"type": "boolean"} and fields["language"]["enum"] == ["de", "en"]
    assert fields["upscaler"]["enum"] == ["bicubic", "realesrgan"]
    assert schema["properties"]["engine"]["enum"] == ["warp", "wav2lip", "sadtalker"]


def test_the_default_output_sits_beside_the_portrait_and_clobbers_nothing(folder: Folder) -> None:
    plan = Plan("warp", {"portrait": "team/bob.jpg", "text": "hi"})
    assert default_output(plan, folder) == "team/bob.mp4"
    (folder.root / "team" / "bob.mp4").write_bytes(b"")
    assert default_output(plan, folder) == "team/bob-2.mp4"
    request = plan.request(folder, default_output(plan, folder))
    assert request.output == folder.root / "team" / "bob-2.mp4"
    assert request.portrait == folder.root / "team" / "bob.jpg"


def test_made_up_voices_and_garbled_words_give_way_to_what_the_user_wrote(folder: Folder) -> None:
    def plan(prompt: str, request: dict[str, Any], last: Plan | None = None) -> Plan | Question:
        raw = {"action": "render", "request": request}
        return read_plan(raw, folder, read_mentions(prompt, folder), last)

    made_up = plan(
        "Make grace.jpg say 'Good morning'",
        {"portrait": "grace.jpg", "text": "Good mornin", "voice": "fr-fr"},
    )
    assert made_up == Plan("warp", {"portrait": "grace.jpg", "text": "Good morning"})
    asked = plan(
        "grace.jpg: 'Bonjour' with a French voice",
        {"portrait": "grace.jpg", "text": "Bonjour", "voice": "fr-fr"},
    )
    assert isinstance(asked, Plan) and asked.fields["voice"] == "fr-fr"
    quoted_cue = plan(
        "grace.jpg says 'in German please'",
        {"portrait": "grace.jpg", "text": "in German please", "voice": "de"},
    )
    assert isinstance(quoted_cue, Plan) and "voice" not in quoted_cue.fields, (
        "quoted words ask nothing"
    )
    last = Plan("warp", {"portrait": "grace.jpg", "text": "Hi", "voice": "en-gb"})
    kept = plan("more expressive", {"expression_scale": 1.5, "voice": "it"}, last)
    assert isinstance(kept, Plan) and kept.fields["voice"] == "en-gb", "the last plan's voice stays"
    slower = plan("now a bit slower", {"text": "Now a bit slower", "rate": 140}, last)
    assert isinstance(slower, Plan) and slower.fields["text"] == "Hi", "a request is not the words"
    requoted = plan("say 'Bye' instead", {"text": "Bye"}, last)
    assert isinstance(requoted, Plan) and requoted.fields["text"] == "Bye"


def test_a_folder_without_recordings_offers_none(tmp_path: Path) -> None:
    (tmp_path / "grace.jpg").write_bytes(b"x")
    fields = plan_schema(Folder.scan(tmp_path), ("en-us",))["properties"]["request"]["properties"]
    assert "audio" not in fields and fields["portrait"] == {"enum": ["grace.jpg"]}
    assert all(schema.get("enum") != [] for schema in fields.values())
