"""The wav2lip engine: our own PyTorch inference by default, the pinned upstream inference.py on request."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...deps import Requirement, ensure_requirements, missing_requirements
from ...options import RenderOptions, Wav2LipOptions
from ..base import (
    Engine,
    EngineJob,
    EnginePlan,
    FrameStream,
    ProgressCallback,
    RenderedClip,
    no_progress,
)
from .checkpoint import checkpoint_resource, resolve_checkpoint

if TYPE_CHECKING:
    from .native import NativeWav2Lip

LIFE_OPTIONS = frozenset({"blink", "seed", "still", "expression_scale"})
"""What drives the blinks and head motion added to the native path's frames (the warp engine's)."""
LIFE_FLOOR_DB = -60.0  # loudness (dBFS) that counts as silence for the head's calm and nods ...
LIFE_SPAN_DB = 45.0  # ... and the range above it that counts as full speech

REQUIREMENTS = (Requirement("torch", "torch>=2.1"),)
"""What the native path imports beyond the core dependencies (the `wav2lip` extra)."""


class Wav2LipEngine(Engine):
    """Wav2Lip mouth inpainting; `--wav2lip-impl native` (default) or `upstream`.

    The native path's per-stage seconds of the last render are `stage_seconds` (the same dict
    as `NativeWav2Lip.stage_seconds`; complete once the returned frames are consumed).
    """

    name = "wav2lip"
    summary = "Wav2Lip (neural mouth inpainting; needs torch and a checkpoint)"
    honoured_options = frozenset({"fps", "cache_dir", "install_deps"}) | LIFE_OPTIONS
    honours_wav2lip_options = True

    def __init__(self, options: RenderOptions, cache_dir: Path) -> None:
        super().__init__(options, cache_dir)
        if (
            options.wav2lip.impl == "upstream"
        ):  # upstream's clip is used as it is: no blinks or head motion added
            self.honoured_options = type(self).honoured_options - LIFE_OPTIONS
        self._native: NativeWav2Lip | None = None
        self._upstream: Any = None

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage (load, detect, mel, generator, paste) of the last native render; empty before one."""
        return self._native.stage_seconds if self._native is not None else {}

    def plan(self) -> EnginePlan:
        if self.options.wav2lip.impl == "upstream":
            return self._upstream_impl().plan()
        if checkpoint_resource(self.options.wav2lip.checkpoint) is None:
            resolve_checkpoint(
                self.options.wav2lip.checkpoint, self.cache_dir
            )  # a missing PATH fails the dry run too
        return EnginePlan(
            resources=_plan_resources(self.options.wav2lip), notes=_plan_notes(self.options.wav2lip)
        )

    def render(
        self, job: EngineJob, progress: ProgressCallback = no_progress
    ) -> FrameStream | RenderedClip:
        if self.options.wav2lip.impl == "upstream":
            return self._upstream_impl().render(job, progress)
        ensure_requirements(REQUIREMENTS, install=self.options.install_deps, engine=self.name)
        return _with_life(self._native_impl().render(job, progress), job)

    def _native_impl(self) -> NativeWav2Lip:
        if self._native is None:
            from .native import NativeWav2Lip

            self._native = NativeWav2Lip(self.options, self.cache_dir)
        return self._native

    def _upstream_impl(self) -> Any:
        if self._upstream is None:
            from .upstream import UpstreamWav2Lip

            self._upstream = UpstreamWav2Lip(self.options, self.cache_dir)
        return self._upstream


def _with_life(stream: FrameStream, job: EngineJob) -> FrameStream:
    """The generator animates only the mouth; add the warp engine's blinks and head motion (calmer in
    silence, nodding on emphasis of the speech's loudness) unless --no-blink and --expression-scale 0."""
    options = job.options
    if not options.blink and options.expression_scale <= 0:
        return stream
    import numpy as np

    from ...speech.envelope import loudness_db
    from ..warp.face_life import FaceLife, life_seed

    level = loudness_db(job.speech.samples, job.speech.sample_rate, options.fps, stream.count)
    activity = np.clip((level - LIFE_FLOOR_DB) / LIFE_SPAN_DB, 0.0, 1.0)
    life = FaceLife(
        job.portrait.shape, job.face.landmarks.points, options, activity, life_seed(job)
    )
    frames = (life.apply(frame, index) for index, frame in enumerate(stream.frames))
    return FrameStream(stream.size, stream.count, frames)


def _plan_resources(opts: Wav2LipOptions) -> tuple[str, ...]:
    entry = checkpoint_resource(opts.checkpoint)
    return (entry.name,) if entry is not None else ()


def _plan_notes(opts: Wav2LipOptions) -> tuple[str, ...]:
    entry = checkpoint_resource(opts.checkpoint)
    notes = [
        f"checkpoint {entry.name}: from the cache, verified by size and sha256, downloaded when missing"
        if entry is not None
        else f"checkpoint {Path(opts.checkpoint).expanduser()}: given explicitly, so trusted",
        "native Wav2Lip inference on CUDA (fp16 autocast) when a GPU is visible, else on the CPU",
        "blinks and head motion as in the warp engine (off with --no-blink --expression-scale 0)",
    ]
    if opts.crop is not None:
        notes.append(
            f"face box set by hand: {' '.join(map(str, opts.crop))} (no padding, like upstream --box)"
        )
    else:
        notes.append(
            f"face box: the MediaPipe detection padded by {' '.join(map(str, opts.pads))} (top bottom left right)"
        )
    if opts.resize_factor > 1:
        notes.append(
            f"the face crop is taken at 1/{opts.resize_factor} scale; the video keeps the portrait's full resolution"
        )
    if opts.face_det_batch_size != Wav2LipOptions().face_det_batch_size:
        notes.append(
            "--wav2lip-face-det-batch-size changes nothing for a still portrait (its face is detected once)"
        )
    missing = missing_requirements(REQUIREMENTS)
    if missing:
        specs = " ".join(r.spec for r in missing)
        notes.append(f"{specs} is not installed: --install-deps would install it into {sys.prefix}")
    return tuple(notes)


__all__ = ["REQUIREMENTS", "Wav2LipEngine"]
