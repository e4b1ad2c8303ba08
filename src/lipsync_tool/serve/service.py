"""What the web app runs on: settings, the job table, the queue, the keys and input checks."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .assist import ServerAssistant
from .auth import Keys
from .jobspec import JobSpec
from .queue import JobQueue
from .settings import ServeSettings
from .store import JobStore

if TYPE_CHECKING:
    import numpy as np

    from ..face.analyzer import FaceAnalyzer, PortraitFace
    from ..renderer import Renderer


class ApiError(Exception):
    """An HTTP error with one line for the client: `{"error": {"type", "message"}}`."""

    def __init__(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message
        self.headers = headers or {}


class InputChecker:
    """Checks a job's inputs as a render would (media, face, speech) without rendering.

    One Renderer per engine, built without models (`load=False`); `Renderer.check` loads only
    the face models. Checks run one at a time: they take a fraction of a second."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self._renderers: dict[str, Renderer] = {}
        self._faces: FaceAnalyzer | None = None
        self._lock = threading.Lock()

    def face(self, image: np.ndarray) -> PortraitFace:
        """The face a render of `image` would animate (InputError when there is none)."""
        from ..face.analyzer import FaceAnalyzer

        with self._lock:
            if self._faces is None:
                self._faces = FaceAnalyzer()
            return self._faces.analyze(image)

    def check(self, spec: JobSpec, job_dir: Path, inputs: dict[str, Any]) -> float | None:
        """Check the job's inputs; the seconds its render should take (None: unknown)."""
        from ..cache import resolve_cache_dir
        from ..estimate import engine_cost, render_seconds
        from ..renderer import Renderer

        request = spec.request(job_dir, **inputs)
        with self._lock:
            if spec.engine not in self._renderers:
                self._renderers[spec.engine] = Renderer(
                    spec.engine, load=False, cache_dir=self.cache_dir
                )
            checked = self._renderers[spec.engine].check(request)
        if checked.duration is None:
            return None
        cost, _ = engine_cost(spec.engine, resolve_cache_dir(self.cache_dir))
        return round(render_seconds(cost, request, checked.duration), 2)


@dataclass
class Service:
    """The web process's collaborators, shared by every request handler."""

    settings: ServeSettings
    store: JobStore
    queue: JobQueue
    keys: Keys
    checker: InputChecker
    assistant: ServerAssistant
    sse_heartbeat: float = 15.0
    sse_poll: float = 0.05
    started: float = field(default=0.0)

    @classmethod
    def create(cls, settings: ServeSettings, **overrides: Any) -> Service:
        keys = overrides.pop("keys", None) or Keys.load(settings.api_keys_file)  # before any mkdir
        settings.jobs_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            store=overrides.pop("store", None) or JobStore(settings.jobs_db),
            queue=overrides.pop("queue", None) or JobQueue(settings),
            keys=keys,
            checker=overrides.pop("checker", None) or InputChecker(settings.cache_dir),
            assistant=overrides.pop("assistant", None) or ServerAssistant(settings.assistant_model),
            **overrides,
        )

    def job_dir(self, job_id: str) -> Path:
        return self.settings.jobs_dir / job_id

    def free_disk_mb(self) -> float:
        return shutil.disk_usage(self.settings.data_dir).free / 2**20

    def check_capacity(self, owner: str) -> None:
        """507 below the disk floor, 429 past the owner's cap of active jobs."""
        if self.free_disk_mb() < self.settings.disk_floor_mb:
            raise ApiError(
                507,
                "InsufficientStorage",
                f"the server has less than {self.settings.disk_floor_mb:g} MB of disk left; "
                "try again later",
            )
        active = self.store.count_active(owner)
        if active >= self.settings.jobs_per_owner:
            raise ApiError(
                429,
                "TooManyJobs",
                f"you have {active} jobs queued or running (the limit is "
                f"{self.settings.jobs_per_owner}); wait for some to finish or cancel them",
                {"Retry-After": "10"},
            )


def input_error(exc: InputError, job_dir: Path) -> ApiError:
    from .uploads import client_message

    return ApiError(422, type(exc).__name__, client_message(str(exc), job_dir))
