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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...control import ProgressCallback, no_progress
from ...request import RenderRequest
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
from ..base import (
    Engine,
    EngineContext,
    EngineJob,
    EnginePlan,
    FrameStream,
    NoOptions,
    RenderedClip,
)
from .command import JobPaths, inference_command, job_paths
from .environment import (
    DEFAULT_DEPENDENCIES,
    DependencySet,
    SadTalkerEnvironment,
    cuda_usable,
    default_venv_path,
)
from .options import SadTalkerOptions
from .results import find_result
from .runner import failure, run_inference
from .weights import check_free_space, checkpoint_dir, link_weights, needed_resources

if TYPE_CHECKING:
    from ...upscale.cost import LearnedWork

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


class SadTalkerEngine(Engine[NoOptions, SadTalkerOptions]):
    """Upstream SadTalker in an isolated environment; see the module docstring for the steps."""

    name = "sadtalker"
    accelerated = True
    summary = "SadTalker head and expression animation (upstream in its own environment; downloads)"
    code_licence = "Apache-2.0 (upstream SadTalker, run in its own environment)"
    weights_licence = "Apache-2.0 (SadTalker); facexlib and GFPGAN files under their own licences"
    downloads = (
        "SadTalker checkpoints and facexlib/GFPGAN files (about 1.5-2.5 GB); its environment; "
        "with --upscaler realesrgan: Real-ESRGAN x4plus, 34 MB"
    )
    options_type = SadTalkerOptions
    uses = frozenset({"expression_scale", "still", "upscaler"})

    def __init__(
        self,
        settings: NoOptions,
        context: EngineContext,
        *,
        setup: SadTalkerSetup | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(settings, context)
        self.setup = setup or default_setup()
        self.environ = dict(os.environ if environ is None else environ)
        self.environment = SadTalkerEnvironment(
            default_venv_path(context.cache_dir), self.setup.dependencies, environ=self.environ
        )

    def resources(self, options: SadTalkerOptions) -> tuple[Resource, ...]:
        """The model files a render with `options` needs."""
        return needed_resources(options, self.setup.resources)

    def load(self, progress: ProgressCallback = no_progress) -> None:
        """Check the environment (one error line naming --install-deps when it is missing)."""
        if self.environment.problem() is not None and not self.context.install_deps:
            self.environment.ensure(install=False)

    def plan(self, request: RenderRequest, options: SadTalkerOptions) -> EnginePlan:
        """The clone, the files, the environment build and the exact inference command."""
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
            then = (
                "built first (--install-deps)"
                if self.context.install_deps
                else "a render stops here: pass --install-deps to build it"
            )
            notes.append(f"environment: {env_problem}; {then}")
        commands.append(self._command(checkout, job_paths(PLACEHOLDER_WORK_DIR), request, options))
        notes.append(
            f"SadTalker runs in {checkout} (its working directory); "
            "its clip is then scaled to 1080 lines"
        )
        clip = job_paths(PLACEHOLDER_WORK_DIR).result_dir / "<timestamp>.mp4"
        return EnginePlan(
            resources=tuple(r.name for r in self.resources(options)),
            commands=tuple(commands),
            notes=tuple(notes),
            clip=str(clip),
        )

    @classmethod
    def learned_work(cls, width: int, height: int) -> LearnedWork:
        """Every frame enlarged: the estimate assumes the default face crop (256 px, read whole)."""
        from ...upscale.cost import LearnedWork, learned_pixels

        side = SadTalkerOptions().resolution
        return LearnedWork(per_frame=learned_pixels(side, side))

    def render(self, job: EngineJob[SadTalkerOptions]) -> FrameStream | RenderedClip:
        """Run upstream on the job and return its clip (its frames enlarged with
        `--upscaler realesrgan`); the job's clock gets each step's time."""
        stage, options = job.clock.stage, job.options
        resources = self.resources(options)
        with stage("environment"):
            self.load(job.progress)
        with stage("checkout"):
            checkout = ensure_repository(
                self.setup.repository, self.cache_dir, environ=self.environ
            )
        with stage("environment"):
            self.environment.ensure(install=self.context.install_deps)
        job.check_cancelled()
        with stage("weights"):
            self._prepare_weights(checkout, resources, job.progress)
        job.check_cancelled()
        with stage("inputs"):
            paths = job_paths(job.work_dir)
            _prepare_inputs(job, paths)
            command = self._command(checkout, paths, job.request, options)
            env = self._run_environment()
        with stage("inference"):
            output = run_inference(command, checkout, env, job.progress, job.cancel)
        with stage("result"):
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
        return self.finish_clip(clip, job)

    def _command(
        self, checkout: Path, paths: JobPaths, request: RenderRequest, options: SadTalkerOptions
    ) -> tuple[str, ...]:
        cuda = cuda_usable(self.environment.path, self.environ)
        return inference_command(
            self.environment.python,
            checkout,
            checkpoint_dir(self.cache_dir),
            paths,
            options,
            expression_scale=request.expression_scale,
            still=request.still,
            cuda=cuda,
        )

    def _prepare_weights(
        self, checkout: Path, resources: tuple[Resource, ...], progress: ProgressCallback
    ) -> None:
        offline = offline_from_environment(self.environ)
        store = ResourceStore(self.cache_dir, offline=offline, progress=progress)
        paths = {r.name: store.path_of(r) for r in resources}
        check_free_space(resources, paths, self.cache_dir / "sadtalker")
        files = store.ensure(resources)
        gfpgan = {r.name: files[r.name] for r in resources if r.path.startswith("gfpgan/weights/")}
        link_weights(checkout, gfpgan)

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


def _prepare_inputs(job: EngineJob[SadTalkerOptions], paths: JobPaths) -> None:
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
