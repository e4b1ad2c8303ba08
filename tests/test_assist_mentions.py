"""What code reads from a prompt before any model: the working folder's files, the files a prompt
names outside its quotes, and the questions for files the folder lacks or paths outside it; run
over the whole prompt set (tests/data/assistant)."""

from __future__ import annotations

from typing import Any

import pytest

from lipsync_tool.assist.folder import Folder
from lipsync_tool.assist.mentions import file_words, outside, quoted_spans, read_mentions

from .assist_helpers import cases, prompt_set_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    extra = ("notes.txt", ".hidden/secret.jpg", "a/b/c/deep.png", 'say "hi".jpg')
    return prompt_set_folder(tmp_path_factory.mktemp("work"), *extra)


def test_the_folder_lists_its_portraits_and_recordings_only(folder: Folder) -> None:
    assert set(folder.portraits) == {"grace.jpg", "anna.png", "astronaut.png", "team/bob.jpg"}
    assert set(folder.recordings) == {"intro.m4a", "welcome.wav", "lesson_de.mp3"}
    assert folder.find("GRACE.JPG") == "grace.jpg" and folder.find("carol.jpg") is None
    assert folder.find(".hidden/secret.jpg") is None and folder.find("a/b/c/deep.png") is None


def test_quotes_are_text_and_apostrophes_are_not_quotes() -> None:
    text = "Make a.png say 'We're open, it's late' and \u201cbye\u201d; it's b.png"
    spans = [text[start:stop] for start, stop in quoted_spans(text)]
    assert spans == ["We're open, it's late", "bye"]
    assert file_words("Use 'x.jpg' with (y.png), then z.wav.") == ["y.png", "z.wav"]
    assert file_words("an unclosed 'quote with q.jpg") == ["q.jpg"]


def test_paths_that_leave_the_folder() -> None:
    for name in ("/etc/a.jpg", "../a.jpg", "x/../../a.jpg", "~/a.jpg", "C:\\a.jpg"):
        assert outside(name), name
    for name in ("a.jpg", "team/bob.jpg", "a..b.jpg"):
        assert not outside(name), name


def _named_by_user(case: dict[str, Any]) -> str:
    return " ".join([case["prompt"], *(turn["prompt"] for turn in case.get("history", []))])


@pytest.mark.parametrize("case", cases(), ids=lambda case: case["id"])
def test_the_prompt_sets_files_and_questions_are_read_by_code(
    case: dict[str, Any], folder: Folder
) -> None:
    mentions = read_mentions(case["prompt"], folder)
    topic = case["expect"].get("question")
    if topic in ("unknown_file", "outside"):
        assert mentions.question is not None and mentions.question.topic == topic
        return
    assert mentions.question is None, mentions.question
    if topic is not None:
        return  # a portrait or the speech is missing: the planner asks
    request = case["expect"]["request"]
    if "history" not in case:  # a first request names every file its plan uses
        named = [request[f] for f in ("portrait", "audio") if f in request]
        assert set(named) <= set(mentions.files), (named, mentions)
        assert mentions.outputs == tuple(o for o in [request.get("output")] if o)
    for field in ("portrait", "audio", "output"):
        if field in request:
            assert request[field].lower() in _named_by_user(case).lower()
    assert not (set(mentions.files) - set(folder.files))
