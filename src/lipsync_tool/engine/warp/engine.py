"""The `warp` engine: the portrait's own pixels, moved by mesh warps that follow the speech, with blinks and head life."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...control import ProgressCallback, no_progress
from ...request import RenderRequest
from ..base import Engine, EngineJob, EnginePlan, FrameStream, NoOptions

if TYPE_CHECKING:
    from ...life.face_life import FaceLife
    from .mouth_warp import MouthWarp

log = logging.getLogger(__name__)

MAX_RENDER_LINES = 1080
MAX_RENDER_WIDTH = 1920


def render_scale(width: int, height: int) -> float:
    """Scale that caps the render at 1080 lines and 1920 columns; portraits are never enlarged."""
    return min(1.0, MAX_RENDER_LINES / height, MAX_RENDER_WIDTH / width)


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
    downloads = "nothing"
    uses = frozenset(
        {
            "expression_scale",
            "still",
            "visemes",
            "language",
            "transcript",
            "blink",
            "seed",
        }
    )

    def plan(self, request: RenderRequest, options: NoOptions) -> EnginePlan:
        return EnginePlan(
            notes=(
                "renders on the CPU with the bundled face-mesh and speech models; nothing to download",
            )
        )

    def render(self, job: EngineJob[NoOptions]) -> FrameStream:
        import cv2

        from ...life.face_life import FaceLife, LifeSettings, life_seed
        from .mouth_warp import MouthWarp

        height, width = job.portrait.shape[:2]
        scale = render_scale(width, height)
        image, points = job.portrait, job.face.landmarks.points[:, :2].astype(np.float64)
        if scale < 1.0:
            size = (max(2, round(width * scale)), max(2, round(height * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            points = points * (size[0] / width, size[1] / height)
            log.info("rendering at %dx%d (portrait is %dx%d)", size[0], size[1], width, height)
        request = job.request
        with job.clock.stage("mouth track"):
            timeline = self.timeline(job, job.progress)
        with job.clock.stage("setup"):
            mouth = MouthWarp(image, points, amplitude=request.expression_scale)
            settings = LifeSettings(
                request.fps, request.blink, request.still, request.expression_scale
            )
            seed = life_seed(request.seed, job.speech.samples)
            life = FaceLife(image.shape, points, settings, timeline.opening, seed)
        out_h, out_w = image.shape[:2]
        frames = self._frames(mouth, life, timeline, job.progress)
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
        mouth: MouthWarp, life: FaceLife, timeline: Timeline, progress: ProgressCallback
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
