"""Our options → upstream SadTalker's `inference.py` command line (one function, used by --dry-run and by renders)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .options import SadTalkerOptions


@dataclass(frozen=True)
class JobPaths:
    """The files one SadTalker job reads and writes, all inside the job's work directory."""

    folder: Path
    """`<work-dir>/sadtalker`: everything of this engine's job."""

    @property
    def source_image(self) -> Path:
        """The portrait as PNG (upstream treats only lowercase jpg/png/jpeg names as images)."""
        return self.folder / "source.png"

    @property
    def driven_audio(self) -> Path:
        """The speech as PCM WAV."""
        return self.folder / "speech.wav"

    @property
    def result_dir(self) -> Path:
        """A fresh result directory (upstream names results by the second: two jobs in one directory collide)."""
        return self.folder / "results"


def job_paths(work_dir: Path) -> JobPaths:
    """The paths of a job whose work directory is `work_dir`."""
    return JobPaths(Path(work_dir) / "sadtalker")


def inference_command(
    python: Path,
    checkout: Path,
    checkpoint_dir: Path,
    paths: JobPaths,
    options: SadTalkerOptions,
    *,
    expression_scale: float,
    still: bool,
    cuda: bool,
) -> tuple[str, ...]:
    """The exact argv that runs upstream's inference.py (to be run with cwd = `checkout`)."""
    command = [
        str(python),
        str(checkout / "inference.py"),
        "--driven_audio",
        str(paths.driven_audio),
        "--source_image",
        str(paths.source_image),
        "--result_dir",
        str(paths.result_dir),
        "--checkpoint_dir",
        str(checkpoint_dir),
        "--size",
        str(options.resolution),
        "--preprocess",
        options.upstream_preprocess,
        "--expression_scale",
        f"{expression_scale:g}",
    ]
    if still:
        command.append("--still")
    if options.enhancer is not None:
        command += ["--enhancer", options.enhancer]
    command += ["--batch_size", str(options.batch_size)]
    if not cuda:
        command.append("--cpu")
    return tuple(command)
