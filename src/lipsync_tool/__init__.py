"""lipsync-tool: a still portrait and a speech recording in, a lip-synced talking video out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    EngineError,
    EngineUnavailableError,
    InputError,
    LipSyncError,
    MediaError,
    ResourceError,
)
from .options import RenderOptions, Wav2LipOptions

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .pipeline import LipSyncPipeline, RenderResult, render

__all__ = [
    "EngineError",
    "EngineUnavailableError",
    "InputError",
    "LipSyncError",
    "LipSyncPipeline",
    "MediaError",
    "RenderOptions",
    "RenderResult",
    "ResourceError",
    "Wav2LipOptions",
    "render",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The pipeline pulls in numpy and OpenCV: import it on first use so `--help` stays instant.
    if name in ("LipSyncPipeline", "RenderResult", "render"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'lipsync_tool' has no attribute {name!r}")
