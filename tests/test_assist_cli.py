"""`lipsync-tool assist` against an OpenAI-compatible endpoint on 127.0.0.1 that replays scripted
answers (a stand-in for Ollama or llama.cpp's server: the HTTP exchange is real, the model's words
are not): the request it receives, the fallback when it refuses a JSON schema, its failures as one
line, --plan-only --json, and a conversation in the terminal that renders a video."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lipsync_tool.assist.model import RemoteModel
from lipsync_tool.cli import main
from lipsync_tool.errors import InputError

from .assist_helpers import Endpoint, render


@pytest.fixture()
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def test_the_client_sends_the_schema_and_falls_back_when_refused(endpoint: Endpoint) -> None:
    schema = {"type": "object"}
    model = RemoteModel(endpoint.url, "smol", api_key="k3y")
    endpoint.answers = ["one", "two", "three"]
    assert model.complete([{"role": "user", "content": "hi"}], schema) == "one"
    first = endpoint.bodies[0]
    assert first["_path"] == "/v1/chat/completions" and first["model"] == "smol"
    assert first["response_format"]["json_schema"]["schema"] == schema
    assert first["temperature"] == 0 and first["_auth"] == "Bearer k3y"
    endpoint.refuse_schema = True  # refuses OpenAI's form and llama-cpp-python's alike
    assert model.complete([{"role": "user", "content": "hi"}], schema) == "two"
    tried = [body.get("response_format", {}).get("type") for body in endpoint.bodies[1:]]
    assert tried == ["json_schema", "json_object", None]
    assert endpoint.bodies[2]["response_format"]["schema"] == schema
    assert model.complete([], schema) == "three" and len(endpoint.bodies) == 5, (
        "the refused forms are not tried again"
    )


def test_endpoint_failures_are_one_clear_line(endpoint: Endpoint) -> None:
    endpoint.status = 500
    with pytest.raises(InputError, match="HTTP 500"):
        RemoteModel(endpoint.url, "m").complete([], {})
    closed = Endpoint()
    url = closed.url
    closed.close()
    with pytest.raises(InputError, match="cannot be reached .*start the server or fix the URL"):
        RemoteModel(url, "m").complete([], {})


@pytest.fixture()
def folder(tmp_path: Path, assets: Path) -> Path:
    (tmp_path / "grace.jpg").write_bytes((assets / "grace_hopper.jpg").read_bytes())
    (tmp_path / "astronaut.png").write_bytes((assets / "astronaut.png").read_bytes())
    return tmp_path


def _assist(folder: Path, endpoint: Endpoint, *args: str) -> int:
    return main(["assist", "--folder", str(folder), "--llm-url", endpoint.url, *args])


def test_plan_only_prints_the_plan_or_the_question_as_json(
    folder: Path, endpoint: Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint.answers = [render(portrait="grace.jpg", text="Welcome", voice="en-gb", rate=140)]
    prompt = "Make grace.jpg say 'Welcome' in a British voice, a bit slower"
    assert _assist(folder, endpoint, "--once", prompt, "--plan-only", "--json") == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan == {
        "engine": "warp",
        "request": {"portrait": "grace.jpg", "text": "Welcome", "voice": "en-gb", "rate": 140},
    }
    assert (
        _assist(folder, endpoint, "--once", "Make carol.jpg say 'hi'", "--plan-only", "--json") == 0
    )
    question = json.loads(capsys.readouterr().out)
    assert set(question) == {"question"} and "carol.jpg" in question["question"]
    assert len(endpoint.bodies) == 1, "the missing file was asked about without the model"
    assert not list(folder.glob("*.mp4")), "a plan only renders nothing"


def test_bad_use_is_one_line_and_exit_2(
    folder: Path, endpoint: Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["assist", "--plan-only"]) == 2
    assert "--plan-only plans one request" in capsys.readouterr().err
    endpoint.status = 404
    assert _assist(folder, endpoint, "--once", "grace.jpg says 'hi'") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --llm-url") and err.count("\n") == 1


def test_a_conversation_in_the_terminal_plans_edits_and_renders(
    folder: Path,
    endpoint: Endpoint,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.probe import probe

    endpoint.answers = [
        render(portrait="astronaut.png", text="Hello from orbit"),
        render(expression_scale=1.5),
    ]
    typed = iter(["Make astronaut.png say 'Hello from orbit'", "n", "more expressive", "y", "quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    assert _assist(folder, endpoint) == 0
    out = capsys.readouterr().out
    assert 'plan:      warp: astronaut.png speaking text "Hello from orbit"' in out
    assert "estimate:  about" in out and "Not rendered" in out
    assert "settings:  expression_scale=1.5" in out
    video = folder / "astronaut.mp4"
    assert f"Done: {video}" in out
    info = probe(find_ffmpeg(), video)
    assert info.video is not None and info.video.height == 1080 and info.audio is not None
