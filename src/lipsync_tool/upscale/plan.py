"""What a dry run says of `--upscaler realesrgan`: the weights it needs and the seconds it adds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cost import portrait_size

if TYPE_CHECKING:
    from ..engine.base import Engine
    from ..request import RenderRequest


def learned_plan(engine: Engine[Any, Any], request: RenderRequest) -> tuple[tuple[str, ...], str]:
    """The upscaler's resources, and a note of what the network reads and how long it takes."""
    from ..estimate import speech_seconds
    from ..resources.table import for_engine

    work = engine.learned_work(*portrait_size(request.portrait))
    frames = round(speech_seconds(request) * request.fps)
    parts = []
    if work.once:
        parts.append("the portrait once")
    if work.per_frame:
        parts.append(work.per_frame_part)
    what = " and ".join(parts) or "nothing (the portrait is nearly 1080 lines tall)"
    note = (
        f"Real-ESRGAN x4plus enlarges {what}: about {work.seconds(frames):.0f} s on this "
        "machine's CPU threads"
    )
    return tuple(r.name for r in for_engine("upscale")), note
