"""Small stand-ins the offline tests share: an HTTP server on 127.0.0.1, and running work concurrently."""

from __future__ import annotations

import http.server
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class LocalHTTPServer:
    """Serves `handler` (a BaseHTTPRequestHandler class) on 127.0.0.1 at a free port, in a daemon thread."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run_concurrently(work: Callable[[], T], count: int) -> list[T | BaseException]:
    """`work()` in `count` threads started together; each result, or the exception it raised."""
    results: list[T | BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's assertions
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def default_sigint() -> None:
    """A child's `preexec_fn`: SIGINT back to its default, so a test's Ctrl-C reaches the child
    even when the test run itself was started in the background (where SIGINT is ignored, and a
    child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def skip_or_fail(problem: str | None, required_by: str) -> None:
    """Skip a test that lacks something of the system, or fail it where the environment variable
    `required_by` is set (`.ci/run` sets it: there a skip would hide a broken feature)."""
    import os

    import pytest

    if problem and os.environ.get(required_by):
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)
