"""A conversation's turns with a model that answers from a script: what the model is shown, how
an invalid answer is asked for again (at most twice), that follow-ups edit the last plan, and that
a prompt naming a missing file is answered without asking the model at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lipsync_tool.assist.assistant import Assistant
from lipsync_tool.assist.folder import Folder
from lipsync_tool.assist.mentions import Question
from lipsync_tool.assist.plan import Plan, PlanError


class Script:
    """A ChatModel that gives the answers it was handed, in order, and records each call."""

    def __init__(self, *answers: str, translates: bool = True) -> None:
        self.translates = translates
        self.answers = list(answers)
        self.calls: list[tuple[list[dict[str, str]], dict[str, Any]]] = []

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        self.calls.append((messages, schema))
        return self.answers.pop(0)


@pytest.fixture()
def folder(tmp_path: Path) -> Folder:
    for name in ("grace.jpg", "anna.png", "intro.m4a"):
        (tmp_path / name).write_bytes(b"x")
    return Folder.scan(tmp_path)


def render(**request: Any) -> str:
    return json.dumps({"action": "render", "engine": "warp", "request": request})


def test_a_turn_shows_the_model_the_folder_and_keeps_the_plan(folder: Folder) -> None:
    model = Script(render(portrait="grace.jpg", text="Hi", voice="en-gb"), render(voice="de"))
    assistant = Assistant(model, folder, ("en-us", "en-gb", "de"))
    first = assistant.turn("Make grace.jpg say 'Hi' in British English")
    assert first == Plan("warp", {"portrait": "grace.jpg", "text": "Hi", "voice": "en-gb"})
    chat, schema = model.calls[0]
    assert chat[0]["role"] == "system" and "grace.jpg" in chat[0]["content"]
    assert "intro.m4a" in chat[0]["content"] and chat[-1]["content"].startswith("Make grace.jpg")
    assert schema["properties"]["request"]["properties"]["portrait"]["enum"] == [
        "anna.png",
        "grace.jpg",
    ]
    second = assistant.turn("now in German")
    assert second == Plan("warp", {"portrait": "grace.jpg", "text": "Hi", "voice": "de"})
    follow_chat = model.calls[1][0]
    assert json.loads(follow_chat[-2]["content"])["request"]["voice"] == "en-gb", (
        "the last plan is shown"
    )


def test_an_invalid_answer_is_asked_for_again_with_the_reason(folder: Folder) -> None:
    model = Script(
        "not json",
        render(portrait="grace.jpg", text="Hi", rate=9999),
        render(portrait="grace.jpg", text="Hi"),
    )
    plan = Assistant(model, folder, ("en-us",)).turn("grace.jpg says 'Hi'")
    assert plan == Plan("warp", {"portrait": "grace.jpg", "text": "Hi"})
    assert len(model.calls) == 3
    retry = model.calls[2][0]
    assert "rate" in retry[-1]["content"] and "between 80 and 450" in retry[-1]["content"]
    assert retry[-2] == {
        "role": "assistant",
        "content": render(portrait="grace.jpg", text="Hi", rate=9999),
    }


def test_three_invalid_answers_end_the_turn_with_the_last_reason(folder: Folder) -> None:
    model = Script("[]", "{}", '{"action": "fly"}')
    with pytest.raises(
        PlanError, match="no valid plan in 3 answers .*neither a plan nor a question"
    ):
        Assistant(model, folder, ("en-us",)).turn("grace.jpg says 'Hi'")


def test_a_missing_file_is_asked_about_before_any_model_runs(folder: Folder) -> None:
    model = Script()
    assistant = Assistant(model, folder, ("en-us",))
    for prompt, topic in [("Make carol.jpg say 'hi'", "unknown_file"), ("Use ../x.png", "outside")]:
        answer = assistant.turn(prompt)
        assert isinstance(answer, Question) and answer.topic == topic
    assert model.calls == [] and assistant.last is None


@pytest.mark.parametrize("translates", [True, False])
def test_a_translation_is_used_only_from_a_model_that_can_translate(
    folder: Folder, translates: bool
) -> None:
    from lipsync_tool.assist.summary import describe

    model = Script(
        render(portrait="grace.jpg", text="Welcome to our shop", voice="en-gb"),
        render(portrait="grace.jpg", text="Bienvenu", voice="de"),
        translates=translates,
    )
    assistant = Assistant(model, folder, ("en-us", "en-gb", "de"))
    assistant.turn("Make grace.jpg say 'Welcome to our shop' in a British voice")
    plan = assistant.turn("now in German")
    assert isinstance(plan, Plan) and plan.fields["voice"] == "de"
    if translates:
        assert plan.fields["text"] == "Bienvenu" and not plan.note
    else:
        assert plan.fields["text"] == "Welcome to our shop"
        assert "cannot translate" in plan.note and "note:" in describe(plan)
