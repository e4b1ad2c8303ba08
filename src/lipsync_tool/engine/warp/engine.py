"""The `warp` engine: the portrait's own pixels, moved by mesh warps that follow the speech, with blinks and head life."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...control import ProgressCallback, no_progress
from ...request import RenderRequest
from ..base import Engine, EngineContext, EngineJob, EnginePlan, FrameStream, NoOptions

if TYPE_CHECKING:
    from ...life.face_life import FaceLife
    from ...upscale.cost import LearnedWork
    from .mouth_warp import MouthWarp
    from .working_size import SupersampledMouth

log = logging.getLogger(__name__)

MAX_YAW_DEGREES = 35.0
MAX_ROLL_DEGREES = 20.0
POSE_WARNING = (
    "the face in PORTRAIT is {what} ({angle:.0f} degrees, the mouth warp supports up to "
    "{limit:.0f}): the mouth may look wrong; a more frontal, upright photo animates best"
)


def pose_warnings(yaw: float, roll: float) -> list[str]:
    """Warnings for a face turned or tilted beyond what the mouth warp follows."""
    warnings = []
    if abs(yaw) > MAX_YAW_DEGREES:
        warnings.append(POSE_WARNING.format(what="turned", angle=abs(yaw), limit=MAX_YAW_DEGREES))
    if abs(roll) > MAX_ROLL_DEGREES:
        warnings.append(POSE_WARNING.format(what="tilted", angle=abs(roll), limit=MAX_ROLL_DEGREES))
    return warnings


@dataclass(frozen=True)
class Timeline:
    """The mouth of every frame, decided before the first frame is drawn."""

    opening: np.ndarray
    width: np.ndarray
    close: np.ndarray
    tuck: np.ndarray
    tongue: np.ndarray


class WarpEngine(Engine[NoOptions, NoOptions]):
    """Built-in, offline, CPU-only: face mesh, visemes from the speech, mesh warps of mouth and eyes, head motion."""

    name = "warp"
    summary = "built-in mesh warp of the portrait's own pixels (offline, CPU, no downloads)"
    code_licence = "MIT"
    weights_licence = "Apache-2.0 (MediaPipe face models, bundled)"
    downloads = "nothing (with --upscaler realesrgan: Real-ESRGAN x4plus, 34 MB)"
    uses = frozenset(
        {
            "expression_scale",
            "still",
            "visemes",
            "language",
            "transcript",
            "asr",
            "blink",
            "seed",
            "upscaler",
        }
    )

    def __init__(self, settings: NoOptions, context: EngineContext) -> None:
        super().__init__(settings, context)
        from .portrait_setup import SetupMemo

        self._setups = SetupMemo()

    @classmethod
    def learned_work(cls, width: int, height: int) -> LearnedWork:
        from ...upscale.cost import LearnedWork, learned_pixels

        return LearnedWork(once=learned_pixels(width, height))

    def plan(self, request: RenderRequest, options: NoOptions) -> EnginePlan:
        if self.learns(request):
            return EnginePlan(
                notes=("renders on the CPU with the bundled face-mesh and speech models",)
            )
        return EnginePlan(
            notes=(
                "renders on the CPU with the bundled face-mesh and speech models; nothing to download",
            )
        )

    def render(self, job: EngineJob[NoOptions]) -> FrameStream:
        from ...life.face_life import FaceLife, LifeSettings, life_seed

        landmarks = job.face.landmarks
        for warning in pose_warnings(landmarks.yaw_degrees(), landmarks.roll_degrees()):
            log.warning("%s", warning)
        request = job.request
        with job.clock.stage("mouth track"):
            timeline = self.timeline(job, job.progress)
        with job.clock.stage("setup"):
            learned = self.network() if self.learns(request) else None
            setup = self._setups.get(
                job.portrait, landmarks.points, request.upscale, request.expression_scale, learned
            )
            settings = LifeSettings(
                request.fps, request.blink, request.still, request.expression_scale
            )
            seed = life_seed(request.seed, job.speech.samples)
            life = FaceLife(
                setup.image.shape, setup.points[:, :2], settings, timeline.opening, seed
            )
        out_h, out_w = setup.image.shape[:2]
        frames = self._frames(setup.mouth, life, timeline, job.progress)
        return FrameStream((out_w, out_h), job.frame_count, frames)

    def timeline(
        self, job: EngineJob[NoOptions], progress: ProgressCallback = no_progress
    ) -> Timeline:
        """Mouth poses for every frame of the job."""
        track = job.mouth.get(progress).poses
        return Timeline(
            track.effective_opening,
            track.column("width"),
            track.contact,
            track.column("tuck"),
            track.column("tongue"),
        )

    @staticmethod
    def _frames(
        mouth: MouthWarp | SupersampledMouth,
        life: FaceLife,
        timeline: Timeline,
        progress: ProgressCallback,
    ) -> Iterator[np.ndarray]:
        total = len(timeline.opening)
        for index in range(total):
            frame = mouth.frame(
                float(timeline.opening[index]),
                float(timeline.width[index]),
                float(timeline.close[index]),
                float(timeline.tuck[index]),
                float(timeline.tongue[index]),
            )
            yield life.apply(frame, index)
            progress("render", index + 1, total)
