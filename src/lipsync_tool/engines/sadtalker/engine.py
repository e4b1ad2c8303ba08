"""The sadtalker engine: upstream SadTalker at a pinned commit, run in its own virtual environment.

A render: check the environment (one error line naming --install-deps when it is missing), clone the checkout,
build the environment (with --install-deps), fetch the model files this job needs, link facexlib/GFPGAN weights
into the checkout, write the portrait (PNG) and speech (WAV) into `<work-dir>/sadtalker/`, run `inference.py` with
the checkout as working directory, and hand the produced MP4 to the pipeline, which scales it to 1080 lines.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ...options import RenderOptions
from ...resources.repository import (
    SADTALKER_REPOSITORY,
    PinnedRepository,
    clone_commands,
    ensure_repository,
    repository_path,
    repository_problem,
    repository_url,
)
from ...resources.store import ResourceStore, offline_from_environment
from ...resources.table import Resource, for_engine
from ..base import Engine, EngineJob, EnginePlan, ProgressCallback, RenderedClip, no_progress
from .command import JobPaths, inference_command, job_paths
from .environment import (
    DEFAULT_DEPENDENCIES,
    DependencySet,
    SadTalkerEnvironment,
    cuda_usable,
    default_venv_path,
)
from .results import find_result
from .runner import failure, run_inference
from .weights import check_free_space, checkpoint_dir, link_weights, needed_resources

log = logging.getLogger(__name__)

PLACEHOLDER_WORK_DIR = Path("<work-dir>")
ISOLATION_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")


@dataclass(frozen=True)
class SadTalkerSetup:
    """Where the engine's code, files and packages come from (tests swap in local stand-ins)."""

    repository: PinnedRepository = SADTALKER_REPOSITORY
    resources: tuple[Resource, ...] = field(default_factory=lambda: for_engine("sadtalker"))
    dependencies: DependencySet = DEFAULT_DEPENDENCIES


def default_setup() -> SadTalkerSetup:
    """The real upstream: the pinned OpenTalker/SadTalker commit, the table's URLs, the worked-out dependency set."""
    return SadTalkerSetup()


class SadTalkerEngine(Engine):
    """Upstream SadTalker in an isolated environment; see the module docstring for the steps."""

    name = "sadtalker"
    summary = (
        "SadTalker (upstream repository in its own Python environment, neural; needs downloads)"
    )
    honoured_options = frozenset(
        {
            "fps",
            "resolution",
            "preprocess",
            "expression_scale",
            "still",
            "enhancer",
            "sadtalker_batch_size",
            "cache_dir",
            "install_deps",
        }
    )

    def __init__(
        self,
        options: RenderOptions,
        cache_dir: Path,
        *,
        setup: SadTalkerSetup | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(options, cache_dir)
        self.setup = setup or default_setup()
        self.environ = dict(os.environ if environ is None else environ)
        self.environment = SadTalkerEnvironment(
            default_venv_path(cache_dir), self.setup.dependencies, environ=self.environ
        )
        self.resources = needed_resources(options, self.setup.resources)
        self.stage_seconds: dict[str, float] = {}
        """Seconds of each step of the last render: environment, checkout, weights, inputs, inference, result."""

    def plan(self) -> EnginePlan:
        """The clone, the files, the environment build and the exact inference command, without running anything."""
        repo = self.setup.repository
        checkout = repository_path(repo, self.cache_dir)
        commands: list[tuple[str, ...]] = []
        notes = []
        problem = repository_problem(repo, self.cache_dir)
        if problem is not None:
            commands += clone_commands(repo, checkout, repository_url(repo, self.environ))
            notes.append(
                f"SadTalker checkout: {problem}; cloned at {repo.commit[:12]} into {checkout}"
            )
        env_problem = self.environment.problem()
        if env_problem is not None:
            commands += self.environment.build_commands(self.environment.path)
            notes.append(
                f"environment: {env_problem}; "
                + (
                    "built first (--install-deps)"
                    if self.options.install_deps
                    else "a render stops here: pass --install-deps to build it"
                )
            )
        commands.append(self._command(checkout, job_paths(PLACEHOLDER_WORK_DIR)))
        notes.append(
            f"SadTalker runs in {checkout} (its working directory); its clip is then scaled to 1080 lines"
        )
        clip = job_paths(PLACEHOLDER_WORK_DIR).result_dir / "<timestamp>.mp4"
        return EnginePlan(
            resources=tuple(r.name for r in self.resources),
            commands=tuple(commands),
            notes=tuple(notes),
            clip=str(clip),
        )

    def render(self, job: EngineJob, progress: ProgressCallback = no_progress) -> RenderedClip:
        """Run upstream on the job and return its clip; `stage_seconds` then holds the time of each step."""
        clock = _Clock(self.stage_seconds)
        with clock("environment"):
            if self.environment.problem() is not None and not self.options.install_deps:
                self.environment.ensure(
                    install=False
                )  # raises the one-line error naming --install-deps
        with clock("checkout"):
            checkout = ensure_repository(
                self.setup.repository, self.cache_dir, environ=self.environ
            )
        with clock("environment"):
            self.environment.ensure(install=self.options.install_deps)
        with clock("weights"):
            self._prepare_weights(checkout, progress)
        with clock("inputs"):
            paths = job_paths(job.work_dir)
            _prepare_inputs(job, paths)
            command = self._command(checkout, paths)
            env = self._run_environment()
        with clock("inference"):
            output = run_inference(command, checkout, env, progress)
        with clock("result"):
            clip = (
                find_result(paths.result_dir, output.stdout, checkout)
                if output.returncode == 0
                else None
            )
        if clip is None:
            raise failure(
                output, f"(command: {command[1]} ... in {checkout})", job.work_dir, checkout
            )
        log.info("SadTalker wrote %s", clip)
        return RenderedClip(clip)

    def _command(self, checkout: Path, paths: JobPaths) -> tuple[str, ...]:
        cuda = cuda_usable(self.environment.path, self.environ)
        return inference_command(
            self.environment.python,
            checkout,
            checkpoint_dir(self.cache_dir),
            paths,
            self.options,
            cuda=cuda,
        )

    def _prepare_weights(self, checkout: Path, progress: ProgressCallback) -> None:
        store = ResourceStore(
            self.cache_dir, offline=offline_from_environment(self.environ), progress=progress
        )
        check_free_space(
            self.resources,
            {r.name: store.path_of(r) for r in self.resources},
            self.cache_dir / "sadtalker",
        )
        files = store.ensure(self.resources)
        link_weights(
            checkout,
            {r.name: files[r.name] for r in self.resources if r.path.startswith("gfpgan/weights/")},
        )

    def _run_environment(self) -> dict[str, str]:
        """Our environment minus what would leak into the isolated venv, with an `ffmpeg` first on PATH."""
        env = {k: v for k, v in self.environ.items() if k not in ISOLATION_DROPPED}
        env["PATH"] = os.pathsep.join(
            [
                str(self._ffmpeg_dir()),
                str(self.environment.python.parent),
                env.get("PATH", os.defpath),
            ]
        )
        env["PYTHONUNBUFFERED"] = "1"
        # Upstream, facexlib and gfpgan call torch.load without weights_only, written for torch 1.x; torch >= 2.6
        # defaults to weights_only=True. Every file they load here was sha256-verified by the store.
        env["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
        return env

    def _ffmpeg_dir(self) -> Path:
        """A folder holding `ffmpeg` (a link to the pipeline's): upstream calls it by name for its muxing."""
        from ...media.ffmpeg import find_ffmpeg

        folder = self.cache_dir / "sadtalker" / "bin"
        link = folder / ("ffmpeg.exe" if os.name == "nt" else "ffmpeg")
        source = Path(find_ffmpeg())
        if not (link.exists() and os.path.samefile(link, source)):
            folder.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            try:
                link.symlink_to(source)
            except FileExistsError:
                pass  # a concurrent run made it
            except OSError:
                shutil.copy2(source, link)
        return folder


def _prepare_inputs(job: EngineJob, paths: JobPaths) -> None:
    """The portrait as PNG and the speech as WAV, in a fresh folder with a fresh, empty result directory."""
    from PIL import Image

    if paths.folder.exists():
        shutil.rmtree(paths.folder)
    paths.result_dir.mkdir(parents=True)
    Image.fromarray(job.portrait).save(paths.source_image, compress_level=1)
    try:
        os.link(job.audio_path, paths.driven_audio)
    except OSError:
        shutil.copyfile(job.audio_path, paths.driven_audio)


class _Clock:
    """`with clock(name):` adds the block's seconds to `seconds[name]` (the dict is cleared at creation)."""

    def __init__(self, seconds: dict[str, float]) -> None:
        seconds.clear()
        self.seconds = seconds

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
