"""Wav2Lip upstream mode: the pinned Rudrabha/Wav2Lip checkout's own `inference.py`, run as a subprocess.

Each job runs in its own directory (`<work-dir>/wav2lip-upstream`) holding upstream's relative `temp/`, a
PNG of the portrait and the speech under short relative names (upstream tells images by
`path.split('.')[1]` and passes paths unquoted to a shell), and a `bin/ffmpeg` link to our ffmpeg. The
checkout is on the child's PYTHONPATH only; `upstream_launch` fixes what current libraries broke before
running `inference.py`. The clip handed to the pipeline is upstream's `temp/result.avi` (its frames straight
from OpenCV's writer): upstream's `--outfile` is the same frames re-encoded once more with its own audio, which
the pipeline would re-encode again and replace with the original speech anyway. The outfile is still required
to exist, since upstream ignores the exit status of its own ffmpeg call.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ... import children
from ...deps import Requirement, ensure_requirements
from ...errors import EngineError
from ...media.ffmpeg import find_ffmpeg
from ...request import RenderRequest
from ...resources.repository import (
    WAV2LIP_REPOSITORY,
    PinnedRepository,
    clone_commands,
    ensure_repository,
    repository_path,
    repository_problem,
    repository_url,
)
from ...resources.store import ResourceStore
from ...resources.table import resource
from ..base import EngineContext, EngineJob, EnginePlan, RenderedClip
from .checkpoint import Checkpoint, checkpoint_resource, resolve_checkpoint
from .options import Wav2LipOptions, Wav2LipSettings

log = logging.getLogger(__name__)

UPSTREAM_REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("librosa", "librosa>=0.10"),
    Requirement("cv2", "opencv-python-headless>=4.8"),
    Requirement("scipy", "scipy>=1.10"),
    Requirement("tqdm", "tqdm"),
    Requirement("torch", "torch>=2.1"),
)
"""What upstream's inference.py imports, as current packages (its own pins no longer install)."""
LAUNCHER = "lipsync_tool.engine.wav2lip.upstream_launch"
S3FD_IN_CHECKOUT = "face_detection/detection/sfd/s3fd.pth"
RUN_DIR = "wav2lip-upstream"
FACE_NAME, AUDIO_NAME, OUTFILE_NAME = "face.png", "speech.wav", "result.mp4"
RESULT_AVI = "temp/result.avi"
STDERR_LINES = 6

UPSTREAM_BATCH = 128  # upstream's own --wav2lip_batch_size default, passed when the user sets none


def upstream_box(
    crop: tuple[int, int, int, int], resize_factor: int = 1
) -> tuple[int, int, int, int]:
    """Our `--wav2lip-crop X1 Y1 X2 Y2` as upstream's `--box` (top, bottom, left, right) = Y1 Y2 X1 X2."""
    x1, y1, x2, y2 = (value // resize_factor for value in crop)
    return y1, y2, x1, x2


def inference_args(
    w: Wav2LipOptions,
    fps: float,
    checkpoint: str | Path,
    *,
    face: str = FACE_NAME,
    audio: str = AUDIO_NAME,
    outfile: str = OUTFILE_NAME,
) -> list[str]:
    """upstream inference.py's arguments for options `w` (paths relative to the job's directory)."""
    args = ["--checkpoint_path", str(checkpoint), "--face", face, "--audio", audio]
    args += ["--outfile", outfile]
    if w.static is not False:
        # A still portrait is static; upstream's `type=bool` makes any value true: never pass False.
        args += ["--static", "True"]
    args += ["--fps", f"{fps:g}", "--pads", *(str(p) for p in w.pads)]
    args += ["--face_det_batch_size", str(w.face_det_batch_size)]
    args += ["--wav2lip_batch_size", str(w.batch_size or UPSTREAM_BATCH)]
    args += ["--resize_factor", str(w.resize_factor)]
    if w.crop is not None:
        args += ["--box", *(str(v) for v in upstream_box(w.crop, w.resize_factor))]
    if w.nosmooth:
        args.append("--nosmooth")
    return args


def launcher_command(inference_py: Path, args: list[str], trusted: Path | None) -> list[str]:
    """The child's command: our launcher, which runs `inference_py` with `args`."""
    trust = ["--trust", str(trusted)] if trusted is not None else []
    return [sys.executable, "-m", LAUNCHER, *trust, str(inference_py), *args]


def child_environment(
    repo: Path, bin_dir: Path, base: dict[str, str] | None = None
) -> dict[str, str]:
    """os.environ with the checkout first on PYTHONPATH and `bin_dir` (our ffmpeg) first on PATH."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    env["PATH"] = os.pathsep.join(p for p in (str(bin_dir), env.get("PATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def output_tail(text: str, lines: int = STDERR_LINES) -> str:
    """The last non-empty lines of a child's output (tqdm's carriage returns count as line ends)."""
    parts = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return " | ".join(parts[-lines:])


class UpstreamWav2Lip:
    """`--wav2lip-impl upstream`: the pinned upstream inference.py, its clip handed to the pipeline.

    Its stages in the job's clock: "setup" (clone, checkpoint, files) and "inference" (the child).
    """

    requirements: tuple[Requirement, ...] = UPSTREAM_REQUIREMENTS
    repository: PinnedRepository = WAV2LIP_REPOSITORY

    def __init__(self, settings: Wav2LipSettings, context: EngineContext) -> None:
        self.settings = settings
        self.context = context
        self.cache_dir = Path(context.cache_dir)

    @staticmethod
    def needs_detector(options: Wav2LipOptions) -> bool:
        """Upstream detects faces with S3FD (s3fd.pth) unless `--wav2lip-crop` gives the box."""
        return options.crop is None

    def plan(self, request: RenderRequest, options: Wav2LipOptions) -> EnginePlan:
        """The clone (when the checkout is missing or broken), the files to fetch and the child's command."""
        repo = repository_path(self.repository, self.cache_dir)
        problem = repository_problem(self.repository, self.cache_dir)
        commands: list[tuple[str, ...]] = []
        notes = [
            f"upstream Wav2Lip {self.repository.commit[:12]} checkout: {repo} ({problem or 'ready'})"
        ]
        if problem is not None:
            commands += clone_commands(self.repository, repo, repository_url(self.repository))
        entry = checkpoint_resource(self.settings.checkpoint)
        resources = [entry.name] if entry is not None else []
        checkpoint = (
            ResourceStore(self.cache_dir).path_of(entry)
            if entry
            else Path(self.settings.checkpoint).expanduser().absolute()
        )
        if self.needs_detector(options):
            resources.append("s3fd.pth")
            notes.append(f"s3fd.pth is linked into the checkout at {S3FD_IN_CHECKOUT}")
        run_dir = f"<work-dir>/{RUN_DIR}"
        notes.append(
            f"inference.py runs in {run_dir} (cwd; {FACE_NAME} and {AUDIO_NAME} written there); "
            f"its {RESULT_AVI} is scaled and muxed with the original speech; a TorchScript checkpoint is "
            "first converted to a .pth there"
        )
        args = inference_args(options, request.fps, checkpoint)
        commands.append(tuple(launcher_command(repo / "inference.py", args, checkpoint)))
        return EnginePlan(
            resources=tuple(resources),
            commands=tuple(commands),
            notes=tuple(notes),
            clip=f"{run_dir}/{RESULT_AVI}",
        )

    def render(self, job: EngineJob[Wav2LipOptions]) -> RenderedClip:
        """Run upstream inference.py on the job; its clip, checked to exist, for the final pass."""
        options: Wav2LipOptions = job.options
        with job.clock.stage("setup"):
            install = self.context.install_deps
            ensure_requirements(self.requirements, install=install, engine="wav2lip")
            repo = ensure_repository(self.repository, self.cache_dir)
            run_dir = job.work_dir / RUN_DIR
            (run_dir / "temp").mkdir(parents=True, exist_ok=True)
            resolved = resolve_checkpoint(self.settings.checkpoint, self.cache_dir)
            checkpoint = self._upstream_checkpoint(resolved, run_dir)
            if self.needs_detector(options):
                self._place_s3fd(repo)
            self._write_inputs(job, run_dir)
            bin_dir = run_dir / "bin"
            _link_or_copy(Path(find_ffmpeg()), bin_dir / "ffmpeg")
            args = inference_args(options, job.request.fps, checkpoint.path)
            trusted = checkpoint.path if checkpoint.trusted else None
            command = launcher_command(repo / "inference.py", args, trusted)
        job.check_cancelled()
        job.progress("wav2lip-upstream", 0, 1)
        with job.clock.stage("inference"):
            self._run(command, run_dir, child_environment(repo, bin_dir), job)
        job.progress("wav2lip-upstream", 1, 1)
        return RenderedClip(run_dir / RESULT_AVI)

    def _upstream_checkpoint(self, checkpoint: Checkpoint, run_dir: Path) -> Checkpoint:
        """The checkpoint itself, or, for a TorchScript archive (which upstream cannot load), a .pth made from it."""
        from .model import _is_torchscript, load_generator

        if not _is_torchscript(checkpoint.path):
            return checkpoint
        import torch

        converted = run_dir / "wav2lip_converted.pth"
        log.info(
            "%s is TorchScript, which upstream inference.py cannot load: converting it to %s",
            checkpoint.label,
            converted,
        )
        model = load_generator(checkpoint.path, trusted=checkpoint.trusted)
        torch.save({"state_dict": model.state_dict()}, converted)
        return Checkpoint(path=converted, trusted=False, label=f"{checkpoint.label} (converted)")

    def _place_s3fd(self, repo: Path) -> None:
        """Fetch s3fd.pth through the verified store; make it appear where upstream's detector looks for it."""
        entry = resource("s3fd.pth")
        source = ResourceStore(self.cache_dir).ensure([entry])[entry.name]
        target = repo / S3FD_IN_CHECKOUT
        if target.is_symlink() and target.resolve() == source.resolve():
            return
        if (
            not target.is_symlink()
            and target.is_file()
            and target.stat().st_size == source.stat().st_size
        ):
            return
        _link_or_copy(source, target)

    def _write_inputs(self, job: EngineJob[Wav2LipOptions], run_dir: Path) -> None:
        """The portrait as a PNG (downscaled by --wav2lip-resize-factor, which upstream applies to videos only)
        and the speech, under relative names free of dots and spaces."""
        from PIL import Image

        image = Image.fromarray(job.portrait)
        factor = job.options.resize_factor
        if factor > 1:
            image = image.resize(
                (image.width // factor, image.height // factor), Image.Resampling.BILINEAR
            )
        image.save(run_dir / FACE_NAME)
        shutil.copyfile(job.audio_path, run_dir / AUDIO_NAME)

    def _run(
        self, command: list[str], run_dir: Path, env: dict[str, str], job: EngineJob[Wav2LipOptions]
    ) -> None:
        log.info("running upstream Wav2Lip: %s", subprocess.list2cmdline(command))
        log_path = run_dir / "inference.log"
        with log_path.open("w", encoding="utf-8") as output:
            try:
                process = children.start(
                    command,
                    cwd=run_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            except OSError as exc:
                raise EngineError(
                    f"could not start upstream Wav2Lip ({command[0]}): {exc}"
                ) from exc
            returncode = children.wait(process, job.cancel)
        text = log_path.read_text(encoding="utf-8", errors="replace")
        log.debug("upstream Wav2Lip output:\n%s", text)
        if returncode != 0:
            raise EngineError(
                f"upstream Wav2Lip inference.py failed (exit status {returncode}): "
                f"{output_tail(text)}"
            )
        for name in (RESULT_AVI, OUTFILE_NAME):
            produced = run_dir / name
            if not produced.is_file() or produced.stat().st_size == 0:
                raise EngineError(
                    f"upstream Wav2Lip inference.py exited 0 but wrote no {name} "
                    f"(its ffmpeg step failed?): {output_tail(text)}"
                )


def _link_or_copy(source: Path, target: Path) -> None:
    """A symlink at `target` to `source` (a copy where links are not allowed), put in place atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    try:
        os.symlink(source.resolve(), temp)
    except OSError:
        shutil.copyfile(source, temp)
    os.replace(temp, target)
