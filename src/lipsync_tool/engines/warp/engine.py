"""The `warp` engine: the portrait's own pixels, moved by a mesh warp that follows the speech."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..base import Engine, EngineJob, EnginePlan, FrameStream, ProgressCallback, no_progress

if TYPE_CHECKING:
    from .mouth_warp import MouthWarp

log = logging.getLogger(__name__)

MAX_RENDER_LINES = 1080
MAX_RENDER_WIDTH = 1920


def render_scale(width: int, height: int) -> float:
    """Scale that caps the render at 1080 lines and 1920 columns; portraits are never enlarged."""
    return min(1.0, MAX_RENDER_LINES / height, MAX_RENDER_WIDTH / width)


class WarpEngine(Engine):
    """Built-in, offline, CPU-only: face mesh + a smooth warp of lips and jaw driven by speech loudness."""

    name = "warp"
    summary = "built-in mesh warp (offline, CPU, no downloads)"
    honoured_options = frozenset({"fps", "expression_scale"})

    def plan(self) -> EnginePlan:
        return EnginePlan(notes=("renders on the CPU with the bundled face-mesh models; nothing to download",))

    def render(self, job: EngineJob, progress: ProgressCallback = no_progress) -> FrameStream:
        import cv2

        from ...speech.envelope import loudness_db, mouth_opening_from_loudness
        from .mouth_warp import MouthWarp

        height, width = job.portrait.shape[:2]
        scale = render_scale(width, height)
        image, points = job.portrait, job.face.landmarks.points[:, :2].astype(np.float64)
        if scale < 1.0:
            size = (max(2, round(width * scale)), max(2, round(height * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            points = points * (size[0] / width, size[1] / height)
            log.info("rendering at %dx%d (portrait is %dx%d)", size[0], size[1], width, height)
        fps = job.options.fps
        levels = loudness_db(job.speech.samples, job.speech.sample_rate, fps, job.frame_count)
        openings = mouth_opening_from_loudness(levels)
        warp = MouthWarp(image, points, amplitude=job.options.expression_scale)
        out_h, out_w = image.shape[:2]
        return FrameStream((out_w, out_h), job.frame_count, self._frames(warp, openings, progress))

    @staticmethod
    def _frames(warp: "MouthWarp", openings: np.ndarray, progress: ProgressCallback) -> Iterator[np.ndarray]:
        total = len(openings)
        for index, opening in enumerate(openings):
            yield warp.frame(float(opening))
            progress("render", index + 1, total)
