"""The wav2lip engine: our own PyTorch inference by default, the pinned upstream inference.py on request."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...control import ProgressCallback, no_progress
from ...deps import Requirement, ensure_requirements, missing_requirements
from ...request import RenderRequest
from ..base import Engine, EngineContext, EngineJob, EnginePlan, FrameStream, RenderedClip
from .checkpoint import checkpoint_resource, resolve_checkpoint
from .facebox import manual_box
from .options import PREFIX, Wav2LipOptions, Wav2LipSettings

if TYPE_CHECKING:
    from ...upscale.cost import LearnedWork
    from .native import NativeWav2Lip
    from .upstream import UpstreamWav2Lip

LIFE_FIELDS = frozenset({"blink", "seed", "still", "expression_scale"})
"""Request fields that drive the blinks and head motion added to the native path's frames."""
LIFE_FLOOR_DB = -60.0  # loudness (dBFS) that counts as silence for the head's calm and nods ...
LIFE_SPAN_DB = 45.0  # ... and the range above it that counts as full speech

REQUIREMENTS = (Requirement("torch", "torch>=2.1"),)
"""What the native path imports beyond the core dependencies (the `wav2lip` extra)."""

NOTICE = (
    "Wav2Lip's official weights are for non-commercial research use only "
    "(they were trained on LRS2); do not use these videos commercially"
)


class Wav2LipEngine(Engine[Wav2LipSettings, Wav2LipOptions]):
    """Wav2Lip mouth inpainting: our own inference (`impl="native"`) or upstream's script."""

    name = "wav2lip"
    accelerated = True
    summary = "Wav2Lip neural mouth inpainting (needs torch and a downloaded checkpoint)"
    code_licence = "MIT (native inference); upstream mode runs Wav2Lip's own code (no licence file)"
    weights_licence = "non-commercial research use only (official checkpoints, trained on LRS2)"
    downloads = (
        "wav2lip_gan.pth or wav2lip.pth (about 436 MB); s3fd.pth in upstream mode; "
        "with --upscaler realesrgan: Real-ESRGAN x4plus, 34 MB"
    )
    settings_type = Wav2LipSettings
    options_type = Wav2LipOptions
    flag_prefix = PREFIX
    uses = LIFE_FIELDS | {"upscaler"}

    def __init__(self, settings: Wav2LipSettings, context: EngineContext) -> None:
        super().__init__(settings, context)
        self._native: NativeWav2Lip | None = None
        self._upstream: UpstreamWav2Lip | None = None

    def honoured_fields(self) -> frozenset[str]:
        if self.settings.impl == "upstream":  # upstream's clip is used as it is: no life added
            return super().honoured_fields() - LIFE_FIELDS
        return super().honoured_fields()

    def notice(self) -> str | None:
        return NOTICE

    def load(self, progress: ProgressCallback = no_progress) -> None:
        if self.settings.impl == "native":
            ensure_requirements(REQUIREMENTS, install=self.context.install_deps, engine=self.name)
            self.native().load(progress)

    def check(self, job: EngineJob[Wav2LipOptions]) -> None:
        if job.options.crop is not None:
            manual_box(job.options.crop, job.portrait.shape)

    def plan(self, request: RenderRequest, options: Wav2LipOptions) -> EnginePlan:
        if self.settings.impl == "upstream":
            return self.upstream().plan(request, options)
        if checkpoint_resource(self.settings.checkpoint) is None:
            # A missing PATH fails the dry run too.
            resolve_checkpoint(self.settings.checkpoint, self.cache_dir)
        return EnginePlan(
            resources=_plan_resources(self.settings), notes=_plan_notes(self.settings, options)
        )

    @classmethod
    def learned_work(cls, width: int, height: int) -> LearnedWork:
        from ...upscale.cost import LearnedWork, learned_pixels
        from .sharp_mouth import MOUTH_PIXELS

        once = learned_pixels(width, height)
        per_frame = MOUTH_PIXELS if once else 0
        return LearnedWork(once, per_frame, "the generated mouth of every frame")

    def render(self, job: EngineJob[Wav2LipOptions]) -> FrameStream | RenderedClip:
        if self.settings.impl == "upstream":
            return self.finish_clip(self.upstream().render(job).path, job)
        self.load(job.progress)
        network = None
        if self.learns(job.request):
            with job.clock.stage("upscale"):
                network = self.network()
        return _with_life(self.native().render(job, network), job)

    def native(self) -> NativeWav2Lip:
        """The native inference (its generator loads on first use)."""
        if self._native is None:
            from .native import NativeWav2Lip

            self._native = NativeWav2Lip(self.settings, self.context)
        return self._native

    def upstream(self) -> UpstreamWav2Lip:
        """The upstream-script runner."""
        if self._upstream is None:
            from .upstream import UpstreamWav2Lip

            self._upstream = UpstreamWav2Lip(self.settings, self.context)
        return self._upstream


def _with_life(stream: FrameStream, job: EngineJob[Wav2LipOptions]) -> FrameStream:
    """The generator animates only the mouth; add the warp engine's blinks and head motion (calmer
    in silence, nodding on emphasis of the speech's loudness) unless blink is off and the scale 0."""
    from ...life.face_life import FaceLife, LifeSettings, life_seed
    from ...speech.envelope import loudness_db

    request = job.request
    settings = LifeSettings(request.fps, request.blink, request.still, request.expression_scale)
    if not settings.alive:
        return stream
    level = loudness_db(job.speech.samples, job.speech.sample_rate, request.fps, stream.count)
    activity = np.clip((level - LIFE_FLOOR_DB) / LIFE_SPAN_DB, 0.0, 1.0)
    seed = life_seed(request.seed, job.speech.samples)
    height, width = job.portrait.shape[:2]
    scale = np.array([stream.size[0] / width, stream.size[1] / height])
    points = job.face.landmarks.points[:, :2] * scale  # the frames may be the portrait enlarged
    shape = (stream.size[1], stream.size[0], 3)
    life = FaceLife(shape, points, settings, activity, seed)
    frames = (life.apply(frame, index) for index, frame in enumerate(stream.frames))
    return FrameStream(stream.size, stream.count, frames)


def _plan_resources(settings: Wav2LipSettings) -> tuple[str, ...]:
    entry = checkpoint_resource(settings.checkpoint)
    return (entry.name,) if entry is not None else ()


def _plan_notes(settings: Wav2LipSettings, opts: Wav2LipOptions) -> tuple[str, ...]:
    entry = checkpoint_resource(settings.checkpoint)
    notes = [
        f"checkpoint {entry.name}: from the cache, verified by size and sha256, downloaded when missing"
        if entry is not None
        else f"checkpoint {Path(settings.checkpoint).expanduser()}: given explicitly, so trusted",
        NOTICE,
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
