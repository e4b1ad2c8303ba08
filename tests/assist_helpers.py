"""The assistant for the tests: the prompt sets (tests/data/assistant), a folder holding their
files, and a scripted OpenAI-compatible endpoint on 127.0.0.1."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from lipsync_tool.assist.folder import Folder

from .local_services import LocalHTTPServer

DATA = Path(__file__).parent / "data" / "assistant"


SETS = ("prompts", "heldout", "blind")
"""The prompt sets: the one the rules were written against, one written after them, and one
written by someone who had not read them."""


def cases(*names: str) -> list[dict[str, Any]]:
    """Every case of the named sets (default: all of them), in order."""
    return [
        json.loads(line)
        for name in names or SETS
        if (DATA / f"{name}.jsonl").exists()
        for line in (DATA / f"{name}.jsonl").read_text().splitlines()
    ]


def folder_files() -> list[str]:
    """The files the cases' folder holds."""
    return list(json.loads((DATA / "folder.json").read_text())["files"])


def prompt_set_folder(root: Path, *extra: str) -> Folder:
    """`root` filled with the set's files (and `extra` ones), one byte each, scanned."""
    for name in (*folder_files(), *extra):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    return Folder.scan(root)


class Endpoint:
    """/v1/chat/completions on 127.0.0.1: answers from a script; records each request body."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.refuse_schema = False
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.bodies.append(
                    {**body, "_path": self.path, "_auth": self.headers.get("Authorization")}
                )
                if endpoint.status != 200:
                    self._send(endpoint.status, {"error": "nope"})
                elif endpoint.refuse_schema and "response_format" in body:
                    self._send(400, {"error": "response_format is not supported"})
                else:
                    content = endpoint.answers.pop(0)
                    self._send(
                        200, {"choices": [{"message": {"role": "assistant", "content": content}}]}
                    )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LocalHTTPServer(Handler)
        self.url = f"{self.server.url}/v1"

    def close(self) -> None:
        self.server.close()


def render(**request: Any) -> str:
    return json.dumps({"action": "render", "engine": "warp", "request": request})
