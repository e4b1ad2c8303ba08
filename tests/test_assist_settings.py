"""Settings asked for in words (assist/settings.py): each phrase gives its value, relative to the
plan being edited and within the request's range; quoted words ask for nothing; the engine and
voice follow only the user's words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lipsync_tool.assist.folder import Folder
from lipsync_tool.assist.mentions import read_mentions
from lipsync_tool.assist.plan import Plan, read_plan
from lipsync_tool.assist.settings import stated_engine, stated_settings, stated_voice

from .assist_helpers import prompt_set_folder


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    return prompt_set_folder(tmp_path)


@pytest.mark.parametrize(
    ("words", "current", "expected"),
    [
        ("a bit slower please", {}, {"rate": 140}),
        ("nice and slow", {"rate": 200}, {"rate": 180}),
        ("very slowly", {}, {"rate": 120}),
        ("very slowly", {"rate": 90}, {"rate": 80}),  # the request's lowest rate
        ("a little faster", {"rate": 140}, {"rate": 160}),
        ("at 210 words per minute", {}, {"rate": 210}),
        ("in a deeper voice", {}, {"pitch": 30}),
        ("an even deeper voice", {"pitch": 10}, {"pitch": 0}),
        ("with a low-pitched voice", {}, {"pitch": 30}),
        ("a higher voice", {}, {"pitch": 70}),
        ("more expressive", {}, {"expression_scale": 1.5}),
        ("more expressive", {"expression_scale": 3.0}, {"expression_scale": 3.0}),
        ("keep it calm and subtle", {}, {"expression_scale": 0.5}),
        ("less expressive", {"expression_scale": 1.5}, {"expression_scale": 1.0}),
        ("let her head move", {}, {"still": False}),
        ("keep his head still", {"still": False}, {"still": True}),
        ("no blinking", {}, {"blink": False}),
        ("don't let him blink", {}, {"blink": False}),
        ("without any blinking", {}, {"blink": False}),
        ("30 fps please", {}, {"fps": 30.0}),
        ("fps 24", {}, {"fps": 24.0}),
        ("at 12.5 frames per second", {}, {"fps": 12.5}),
        ("with the sharper Real-ESRGAN upscaling", {}, {"upscaler": "realesrgan"}),
        ("cut the silence at the start", {}, {"trim_silence": True}),
        ("remove the pauses", {}, {"trim_silence": True}),
        ("even out the loudness", {}, {"normalize_loudness": -16.0}),
        ("level it to -23 LUFS", {}, {"normalize_loudness": -23.0}),
        ("slower, deeper voice, no blinking, 50 fps", {},
         {"rate": 140, "pitch": 30, "blink": False, "fps": 50.0}),
        ("animate the photo with the recording", {}, {}),
        ("breakfast at the lowest table", {}, {}),
    ],
)  # fmt: skip
def test_each_phrase_gives_its_value(
    words: str, current: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert stated_settings(words, current) == expected


def test_quoted_words_ask_for_nothing(folder: Folder) -> None:
    mentions = read_mentions("Make grace.jpg say 'Slow down, no blinking at 30 fps'", folder)
    assert stated_settings(mentions.plain, {}) == {}
    said = read_mentions("grace.jpg should say: go faster with wav2lip", folder)
    assert said.quotes == ("go faster with wav2lip",)
    assert stated_settings(said.plain, {}) == {} and stated_engine(said.plain) is None


def test_an_engine_is_one_the_user_names() -> None:
    assert stated_engine("lip-sync it using wav2lip") == "wav2lip"
    assert stated_engine("try it with sad talker") == "sadtalker"
    assert stated_engine("warp or wav2lip, whichever") is None  # two named: neither
    assert stated_engine("make it look good") is None


@pytest.mark.parametrize(
    ("words", "voice"),
    [
        ("in a british voice", "en-gb"),
        ("with a brazilian portuguese voice", "pt-br"),  # the accent over its language
        ("in portuguese", "pt"),
        ("british received pronunciation", "en-gb-x-rp"),
        ("haz que diga en español", "es"),
        ("german or french", None),  # a tie names none
        ("in a nice voice", None),
    ],
)
def test_a_voice_is_the_one_the_words_name(words: str, voice: str | None) -> None:
    assert stated_voice(frozenset(words.split())) == voice


def test_the_models_engine_stands_only_when_the_user_names_one(folder: Folder) -> None:
    prompt = "Make grace.jpg say 'Sale ends Friday' in British English"
    raw = {"action": "render", "engine": "wav2lip", "request": {"text": "Sale ends Friday"}}
    plan = read_plan(raw, folder, read_mentions(prompt, folder), None)
    assert isinstance(plan, Plan) and plan.engine == "warp"
    named = read_plan(raw, folder, read_mentions(prompt + " using wav2lip", folder), None)
    assert isinstance(named, Plan) and named.engine == "wav2lip"


def test_a_follow_up_moves_settings_from_the_last_plan(folder: Folder) -> None:
    last = Plan("warp", {"portrait": "grace.jpg", "text": "Welcome", "rate": 140, "pitch": 30})
    raw = {"action": "render", "request": {"rate": 140}}  # the model changed nothing
    plan = read_plan(raw, folder, read_mentions("even slower, and higher", folder), last)
    assert isinstance(plan, Plan)
    assert plan.fields["rate"] == 120 and "pitch" not in plan.fields  # back to the default
    assert plan.fields["text"] == "Welcome" and plan.fields["portrait"] == "grace.jpg"


def test_a_recording_said_to_be_in_a_language_sets_the_language(folder: Folder) -> None:
    prompt = "Animate anna.png with intro.m4a, a slower voice; the speech is Spanish"
    raw = {"action": "render", "request": {}}
    plan = read_plan(raw, folder, read_mentions(prompt, folder), None)
    assert isinstance(plan, Plan)
    assert plan.fields == {"portrait": "anna.png", "audio": "intro.m4a", "language": "es"}


def test_words_the_user_never_gave_are_not_spoken(folder: Folder) -> None:
    mentions = read_mentions("Animate grace.jpg", folder)
    raw = {"action": "render", "request": {"portrait": "grace.jpg", "text": "Bienvenue"}}
    assert read_plan(raw, folder, mentions, None).topic == "speech"  # type: ignore[union-attr]
    unquoted = read_mentions("make grace.jpg say good night everyone", folder)
    raw = {"action": "render", "request": {"text": "Good night, everyone"}}
    plan = read_plan(raw, folder, unquoted, None)
    assert isinstance(plan, Plan) and plan.fields["text"] == "Good night, everyone"


def test_a_recording_gives_way_to_words_only_when_they_are_quoted(folder: Folder) -> None:
    last = Plan("warp", {"portrait": "grace.jpg", "audio": "welcome.wav"})
    raw = {"action": "render", "engine": "sadtalker", "request": {"text": "try it with sadtalker"}}
    plan = read_plan(raw, folder, read_mentions("try it with sadtalker", folder), last)
    assert isinstance(plan, Plan)
    assert plan.engine == "sadtalker" and plan.fields == last.fields
    quoted = read_mentions("actually, have her say 'Hello there'", folder)
    plan = read_plan({"action": "render", "request": {}}, folder, quoted, last)
    assert isinstance(plan, Plan)
    assert plan.fields == {"portrait": "grace.jpg", "text": "Hello there"}


def test_a_file_named_in_a_follow_up_replaces_the_last_one(folder: Folder) -> None:
    last = Plan("warp", {"portrait": "grace.jpg", "text": "Welcome"})
    raw = {"action": "render", "request": {"portrait": "grace.jpg"}}  # the model kept the old
    plan = read_plan(raw, folder, read_mentions("same again with anna.png", folder), last)
    assert isinstance(plan, Plan) and plan.fields["portrait"] == "anna.png"


def test_a_models_setting_stands_only_when_the_request_talks_about_it(folder: Folder) -> None:
    unasked = {"still": False, "blink": False, "expression_scale": 2.0}
    raw = {"action": "render", "request": {"text": "Hi", **unasked}}
    prompt = "grace.jpg says 'Hi', remove the pauses"  # "remove" is not "move"
    plan = read_plan(raw, folder, read_mentions(prompt, folder), None)
    assert isinstance(plan, Plan)
    assert plan.fields == {"portrait": "grace.jpg", "text": "Hi", "trim_silence": True}
    # no rule knows "bob her head around", but it talks about the head: the model's reading stands
    raw = {"action": "render", "request": {"text": "Hi", "still": False}}
    prompt = "grace.jpg says 'Hi' and bobs her head around"
    plan = read_plan(raw, folder, read_mentions(prompt, folder), None)
    assert isinstance(plan, Plan) and plan.fields["still"] is False
