"""The language models an assistant can ask: the embedded one (a GGUF file run by llama.cpp in
this process, its output held to the plan's JSON schema by a grammar) or any OpenAI-compatible
endpoint (its structured-output mode where it has one)."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..errors import EngineUnavailableError, InputError

log = logging.getLogger(__name__)

EXTRA_HINT = 'pip install "lipsync-tool[assist]"'
MAX_TOKENS = 400
"""Tokens of one answer: a plan is under 150."""
CONTEXT_TOKENS = 4096
PROMPT_CACHE_BYTES = 256 << 20
TIMEOUT_S = 120.0


class ChatModel(Protocol):
    """Answers a conversation with one JSON text, under `schema` where the model can be held."""

    translates: bool
    """Whether its translations of the words to speak can be used (the embedded 135M model's
    cannot: asked for German it wrote "Bienvenu")."""

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str: ...


def embedded_installed() -> bool:
    """Whether llama.cpp's Python binding can be imported."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


class EmbeddedModel:
    """A GGUF model loaded once in this process (llama-cpp-python), greedy and grammar-bound."""

    translates = False

    def __init__(self, gguf: Path, threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise EngineUnavailableError(
                f"the assistant's embedded model needs llama.cpp; install it with: {EXTRA_HINT}"
            ) from None
        from ..machine import default_workers
        from ..machine import threads as thread_budget

        self._llm: Any = Llama(
            model_path=str(gguf),
            n_ctx=CONTEXT_TOKENS,
            n_threads=threads or thread_budget(default=default_workers()),
            verbose=False,
        )
        from llama_cpp import LlamaRAMCache

        # the instructions and examples open every turn: their evaluated state is kept
        self._llm.set_cache(LlamaRAMCache(capacity_bytes=PROMPT_CACHE_BYTES))
        self._grammars: dict[str, Any] = {}

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:  # a grammar per folder listing, built once
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        answer: Any = self._llm.create_chat_completion(
            messages=messages,
            grammar=self._grammars[key],
            temperature=0.0,
            max_tokens=MAX_TOKENS,
        )
        return str(answer["choices"][0]["message"]["content"] or "")


RESPONSE_FORMATS: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (
    lambda schema: {
        "type": "json_schema",
        "json_schema": {"name": "plan", "schema": schema, "strict": True},
    },
    lambda schema: {"type": "json_object", "schema": schema},
)
"""Ways to ask an endpoint for output in the plan's schema: OpenAI's (vLLM, Ollama, llama.cpp's
server), then llama-cpp-python's server's; with neither, answers are checked and asked again."""


class RemoteModel:
    """An OpenAI-compatible chat endpoint (Ollama, llama.cpp's server, vLLM, …): a bigger model
    than the embedded one, trusted to translate."""

    translates = True

    def __init__(self, url: str, model: str, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.formats = list(RESPONSE_FORMATS)
        """The structured-output forms still to try, best first; one is dropped when refused."""

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
        }
        while True:
            form = self.formats[0] if self.formats else None
            if form is not None:
                body["response_format"] = form(schema)
            else:
                body.pop("response_format", None)
            try:
                answer = self._post(body)
                break
            except _Refused as refused:
                if form is None:
                    raise InputError(f"{self.url} refused the request: {refused}") from None
                log.info("%s refused a response format (%s)", self.url, refused)
                self.formats.pop(0)
        try:
            return str(answer["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise InputError(f"{self.url} answered without a message") from None

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            f"{self.url}/chat/completions", json.dumps(body).encode(), headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 -- the user's own endpoint
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            refused = 400 <= error.code < 500 and error.code not in (401, 403, 404)
            if refused or (error.code == 500 and "response_format" in detail):
                # llama-cpp-python's server answers an unknown format with a 500
                raise _Refused(f"HTTP {error.code}: {detail}") from None
            raise InputError(f"--llm-url {self.url}: HTTP {error.code} {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise InputError(
                f"--llm-url {self.url} cannot be reached ({reason}); start the server or fix the URL"
            ) from None
        except json.JSONDecodeError:
            raise InputError(
                f"--llm-url {self.url} answered with something that is not JSON"
            ) from None


class _Refused(Exception):
    """The endpoint refused the request as it was made (a 4xx other than auth or not found)."""
