"""The service's settings: one frozen dataclass that the CLI, the app and the workers share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..assist.choose import DEFAULT_KEY_ENV, ModelChoice
from ..errors import InputError
from ..machine import default_workers, gpu_count

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_QUEUE = "sqlite"
DEFAULT_MAX_UPLOAD_MB = 50.0
DEFAULT_RETENTION_DAYS = 7.0
DEFAULT_JOBS_PER_OWNER = 20
DEFAULT_DISK_FLOOR_MB = 500.0
DEFAULT_MAX_DURATION = 600.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def default_data_dir() -> Path:
    """The platform's user data folder for the tool, e.g. ~/.local/share/lipsync-tool/serve."""
    from platformdirs import user_data_path

    return user_data_path("lipsync-tool") / "serve"


@dataclass(frozen=True)
class ServeSettings:
    """Everything `serve` and `worker` are started with."""

    data_dir: Path
    """Job table, queue, uploads and results live here."""
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int | None = None
    """Worker processes for the warp engine on this machine; None: one per usable core; 0: none."""
    gpu_workers: int | None = None
    """Worker processes for the engines that use a GPU (wav2lip, sadtalker); None: one per GPU,
    or one on a machine without (such an engine then takes every core); 0: none."""
    queue: str = DEFAULT_QUEUE
    """`sqlite` (a queue file in `data_dir`) or `redis://HOST:PORT/DB`."""
    api_keys_file: Path | None = None
    """One key a line; None: no keys, loopback only, every caller is the same owner."""
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    max_duration: float = DEFAULT_MAX_DURATION
    """Longest speech a job may have, in seconds."""
    retention_days: float = DEFAULT_RETENTION_DAYS
    jobs_per_owner: int = DEFAULT_JOBS_PER_OWNER
    """Queued and running jobs one owner may have at once."""
    disk_floor_mb: float = DEFAULT_DISK_FLOOR_MB
    """New jobs are refused (507) while `data_dir` has less free space than this."""
    stale_after: float = 30.0
    """Seconds without a heartbeat after which a running job's worker counts as dead."""
    heartbeat: float = 2.0
    """Seconds between a worker's heartbeats."""
    maintenance_interval: float = 5.0
    """Seconds between the server's checks for dead workers and expired results."""
    cache_dir: Path | None = None
    """Model cache of the workers' Renderers (None: the library's default)."""
    llm_url: str | None = None
    """The assistant's OpenAI-compatible endpoint; None: the embedded model, when installed."""
    llm_model: str | None = None
    """The endpoint's model name."""
    llm_key_env: str = DEFAULT_KEY_ENV
    """The environment variable holding the endpoint's API key."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())
        _ = self.assistant_model  # checks the --llm-* flags together
        for flag, count in (("--workers", self.workers), ("--gpu-workers", self.gpu_workers)):
            if count is not None and count < 0:
                raise InputError(f"{flag} {count}: give 0 or more")
        if self.max_upload_mb <= 0:
            raise InputError("--max-upload-mb must be more than 0")
        if self.max_duration <= 0:
            raise InputError("--max-duration must be more than 0")
        if self.retention_days <= 0:
            raise InputError("--retention-days must be more than 0")
        queue_kind(self.queue)

    @property
    def assistant_model(self) -> ModelChoice:
        """The web page's assistant's model (loaded by the web process on first use)."""
        return ModelChoice(self.llm_url, self.llm_model, self.llm_key_env, self.cache_dir)

    @property
    def worker_count(self) -> int:
        return default_workers() if self.workers is None else self.workers

    @property
    def gpu_worker_count(self) -> int:
        return max(1, gpu_count()) if self.gpu_workers is None else self.gpu_workers

    def lane_workers(self, lane: str) -> int:
        """Worker processes for the queue lane `lane` (see `queue.LANES`)."""
        return self.gpu_worker_count if lane == "gpu" else self.worker_count

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def jobs_db(self) -> Path:
        return self.data_dir / "jobs.db"

    @property
    def queue_db(self) -> Path:
        return self.data_dir / "queue.db"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def check_exposure(self) -> None:
        """Refuse to listen beyond loopback without API keys."""
        if self.host not in LOOPBACK_HOSTS and self.api_keys_file is None:
            raise InputError(
                f"--host {self.host} would let anyone on the network render; give "
                "--api-keys-file FILE (one key a line), or keep the default --host 127.0.0.1"
            )


def queue_kind(queue: str) -> str:
    """`sqlite` or `redis`; InputError for anything else."""
    if queue == "sqlite":
        return "sqlite"
    if urlparse(queue).scheme == "redis":
        return "redis"
    raise InputError(f"--queue {queue!r}: use sqlite or redis://HOST:PORT/DB")
