"""Shared pieces of the service tests: settings in a temp folder, an in-process app, test inputs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lipsync_tool.serve.settings import ServeSettings

from .local_services import default_sigint

SHORT_TEXT = "Hi, Bob."
FAST = {"upscale": False, "fps": 12}
"""Options that keep a test render short: the portrait's own size, few frames."""


def settings_for(data_dir: Path, **changes: Any) -> ServeSettings:
    """Settings for tests: quick heartbeats and maintenance, no disk floor."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "heartbeat": 0.2,
        "stale_after": 1.5,
        "maintenance_interval": 0.2,
        "disk_floor_mb": 0,
    }
    values.update(changes)
    return ServeSettings(**values)


def portrait_bytes(path: Path, size: int = 256) -> bytes:
    """The portrait at `path` as a small JPEG (renders stay quick)."""
    with Image.open(path) as image:
        small = image.convert("RGB").resize((size, size))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def blank_png(size: int = 256) -> bytes:
    """A grey picture without a face."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), 128, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def text_job(portrait: bytes, text: str = SHORT_TEXT, **options: Any) -> dict[str, Any]:
    """The multipart `files` and `data` of a job that speaks `text`."""
    return {
        "files": {"portrait": ("me.jpg", portrait, "image/jpeg")},
        "data": {"text": text, "options": json.dumps({**FAST, **options})},
    }


def audio_job(portrait: bytes, audio: bytes, name: str = "talk.wav", **options: Any) -> dict:
    return {
        "files": {
            "portrait": ("me.jpg", portrait, "image/jpeg"),
            "audio": (name, audio, "audio/wav"),
        },
        "data": {"options": json.dumps({**FAST, **options})},
    }


def sse_events(body: str) -> list[dict[str, Any]]:
    """Parse a Server-Sent Events body into {id, event, data} dicts (comments dropped)."""
    events = []
    for block in body.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(":") or ": " not in line:
                continue
            name, value = line.split(": ", 1)
            fields[name] = value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
            fields["id"] = int(fields["id"])
            events.append(fields)
    return events


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(command: list[str], log: Path, env: Any = None) -> Any:
    """`command` in its own process group, SIGINT at its default, its output in `log`."""
    import subprocess

    with open(log, "wb") as handle:
        return subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=default_sigint,
            env=env,
        )


def interrupt(process: Any, grace: float) -> int:
    """SIGINT to `process`, as Ctrl-C; its whole group killed after `grace` s. Its exit status."""
    import os
    import signal
    import subprocess

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return int(process.returncode)


class ServerProcess:
    """`lipsync-tool serve` on 127.0.0.1 at a free port, in its own process group."""

    def __init__(
        self, data_dir: Path, *args: str, workers: int = 1, gpu_workers: int = 0, env: Any = None
    ) -> None:
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"server-{self.port}.log"
        command = [
            sys.executable, "-m", "lipsync_tool", "serve",
            "--data-dir", str(data_dir), "--port", str(self.port), "--workers", str(workers),
            "--gpu-workers", str(gpu_workers), "--heartbeat", "0.3", "--stale-after", "2", *args,
        ]  # fmt: skip
        self.process = spawn(command, self.log, env)
        self.wait_ready(workers + gpu_workers)

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited: {self.log.read_text()}")
            try:
                health = httpx.get(f"{self.url}/v1/health", timeout=2).json()
                if health["workers"] >= workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not come up: {self.log.read_text()}")

    def stop(self) -> int:
        """SIGINT, as Ctrl-C; the server stops its workers. Returns its exit status."""
        return interrupt(self.process, 30)


class RedisProcess:
    """Debian's redis-server on 127.0.0.1 at a free port, without persistence."""

    def __init__(self, folder: Path) -> None:
        import shutil
        import subprocess
        import time

        import redis

        binary = shutil.which("redis-server")
        assert binary is not None
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(folder),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class WorkerProcess:
    """`lipsync-tool worker` joining a Redis queue, with a data folder of its own."""

    def __init__(self, queue: str, folder: Path, workers: int = 1) -> None:
        import sys

        self.log = folder / "worker.log"
        folder.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "lipsync_tool", "worker", "--queue", queue,
            "--workers", str(workers), "--gpu-workers", "0", "--data-dir", str(folder / "data"),
            "--heartbeat", "0.3",
        ]  # fmt: skip
        self.process = spawn(command, self.log)

    def stop(self) -> None:
        interrupt(self.process, 20)
