"""`lipsync-tool assist`: ask for a video in words; the assistant plans it, shows the plan and its
estimate, and renders it once confirmed. `--once TEXT` handles one request."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from .parser import UsageError

QUIT_WORDS = {"quit", "exit", "bye", "q"}


def build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", metavar="TEXT", help="handle this one request, then exit")
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="with --once: print the plan (or the question) without rendering",
    )
    parser.add_argument("--json", action="store_true", help="with --plan-only: print it as JSON")
    parser.add_argument("--yes", "-y", action="store_true", help="render without asking first")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path.cwd(),
        help="the folder whose files the assistant may use (default: the current one)",
    )
    add_model_flags(parser)
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="where downloaded model files are kept"
    )


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """--llm-url, --llm-model and --llm-key-env: the assistant's model (`assist` and `serve`)."""
    from ..assist.choose import DEFAULT_KEY_ENV, EMBEDDED_NAME

    parser.add_argument(
        "--llm-url",
        metavar="URL",
        help="the assistant's language model: an OpenAI-compatible endpoint, e.g. "
        f"http://127.0.0.1:11434/v1 (default: the embedded {EMBEDDED_NAME}, with the [assist] "
        "extra)",
    )
    parser.add_argument("--llm-model", metavar="NAME", help="the endpoint's model name")
    parser.add_argument(
        "--llm-key-env",
        metavar="VAR",
        default=DEFAULT_KEY_ENV,
        help="environment variable holding the endpoint's API key, if it needs one "
        "(default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from ..assist.assistant import Assistant
    from ..assist.choose import ModelChoice
    from ..assist.folder import Folder
    from ..speech.tts import voices

    if args.plan_only and args.once is None:
        raise UsageError("--plan-only plans one request: give it with --once TEXT")
    choice = ModelChoice(args.llm_url, args.llm_model, args.llm_key_env, args.cache_dir)
    if not args.folder.is_dir():
        raise InputError(f"--folder {args.folder} is not a folder")
    folder = Folder.scan(args.folder)
    assistant = Assistant(choice.load(), folder, tuple(v.language for v in voices()))
    session = Session(assistant, args)
    if args.once is not None:
        return session.handle(args.once)
    print(
        "Ask for a video, e.g. \"Make grace.jpg say 'Welcome' in a British voice\". "
        "Say quit to leave.",
        file=sys.stderr,
    )
    while True:
        try:
            prompt = input("you> ").strip()
        except EOFError:
            return 0
        if prompt.lower() in QUIT_WORDS:
            return 0
        if prompt:
            try:
                session.handle(prompt)
            except InputError as error:  # a bad turn ends the turn, not the conversation
                print(f"error: {error}", file=sys.stderr)


class Session:
    """What the terminal shows for each turn: the plan and its estimate, the question, the result."""

    def __init__(
        self, assistant: Any, args: argparse.Namespace, ask: Callable[[str], str] | None = None
    ) -> None:
        self.assistant = assistant
        self.args = args
        self.ask = ask or (lambda prompt: input(prompt))

    def handle(self, prompt: str) -> int:
        from ..assist.mentions import Question
        from ..assist.plan import default_output
        from ..assist.summary import describe

        answer = self.assistant.turn(prompt)
        if isinstance(answer, Question):
            if self.args.json:
                print(json.dumps({"question": answer.text}))
            else:
                print(f"assistant> {answer.text}")
            return 0
        folder = self.assistant.folder
        request = answer.request(folder, default_output(answer, folder))
        if self.args.plan_only:
            if self.args.json:
                print(json.dumps(answer.to_json()))
            else:
                print(describe(answer, request.output))
            return 0
        print(describe(answer, request.output))
        print(_estimate_line(request, answer.engine, self.args.cache_dir))
        if not self.args.yes and self.ask("Render it? [Y/n] ").strip().lower() not in (
            "",
            "y",
            "yes",
        ):
            print("assistant> Not rendered. Tell me what to change.")
            return 0
        return self._render(answer.engine, request)

    def _render(self, engine: str, request: Any) -> int:
        from ..progress import ProgressReporter
        from ..renderer import Renderer

        reporter = ProgressReporter()
        try:
            result = Renderer(engine, cache_dir=self.args.cache_dir, progress=reporter).render(
                request, progress=reporter
            )
        finally:
            reporter.close()
        width, height = result.frame_size
        print(
            f"assistant> Done: {result.output} ({width}x{height}, {result.duration:.1f} s, "
            f"{result.frames} frames)."
        )
        return 0


def _estimate_line(request: Any, engine: str, cache_dir: Path | None) -> str:
    from ..estimate import estimate
    from ..progress import duration_text

    found = estimate(request, engine, cache_dir=cache_dir)
    return f"estimate:  about {duration_text(found.seconds)} (up to {duration_text(found.seconds_high)})"
