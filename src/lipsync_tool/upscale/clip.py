"""A clip an upstream engine wrote, its frames enlarged to the video's size with Real-ESRGAN's detail.

SadTalker and upstream Wav2Lip hand over a finished clip; with `--upscaler realesrgan` its frames
are decoded at the render's frame rate, enlarged one by one and piped to the encoder instead of
having ffmpeg scale the clip. A clip of the portrait's own size (SadTalker's `full`, Wav2Lip) gets
the detail over the portrait's head region; any other clip (SadTalker's face crops) over all of it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EngineError
from ..media.frames import iter_frames
from ..media.probe import probe
from .enlarge import enlarge, scaled_size, video_scale

if TYPE_CHECKING:
    from ..engine.base import EngineJob, FrameStream
    from .realesrgan import RealEsrgan


def clip_size(ffmpeg: str, clip: Path) -> tuple[int, int]:
    """The clip's frame size (width, height)."""
    info = probe(ffmpeg, clip)
    if info.video is None or not info.video.width or not info.video.height:
        raise EngineError(f"the engine's clip {clip} has no video stream")
    return info.video.width, info.video.height


def enlarged_clip(ffmpeg: str, clip: Path, job: EngineJob[Any], network: RealEsrgan) -> FrameStream:
    """The job's frames from `clip`, each enlarged to 1080 lines (even width) with the network's
    detail; exactly `job.frame_count` of them (the last one repeated if the clip is short)."""
    from ..engine.base import FrameStream

    width, height = clip_size(ffmpeg, clip)
    out_w, out_h = scaled_size(width, height, video_scale(width, height))
    size = (out_w - out_w % 2, out_h)
    portrait_h, portrait_w = job.portrait.shape[:2]
    points = None
    if (width, height) == (portrait_w, portrait_h):
        points = np.asarray(job.face.landmarks.points, dtype=np.float64)
    total = job.frame_count

    def frames() -> Iterator[np.ndarray]:
        job.progress("upscale", 0, total)
        decoded = exactly(iter_frames(ffmpeg, clip, fps=job.request.fps), total)
        for index, frame in enumerate(decoded, start=1):
            job.check_cancelled()
            with job.clock.stage("upscale"):
                big = enlarge(frame, size, network, points)
            job.progress("upscale", index, total)
            yield big

    return FrameStream(size=size, count=total, frames=frames())


def exactly(frames: Generator[np.ndarray, None, None], count: int) -> Iterator[np.ndarray]:
    """`count` frames: those of `frames` (closed when cut short), or with the last one repeated."""
    last = None
    produced = 0
    with closing(frames):
        for frame in frames:
            if produced == count:
                return
            last = frame
            produced += 1
            yield frame
    if last is None:
        raise EngineError("the engine's clip has no frames")
    for _ in range(count - produced):
        yield last
