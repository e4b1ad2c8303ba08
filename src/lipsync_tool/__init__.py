"""lipsync-tool: a still portrait and speech in, a lip-synced talking video out.

import lipsync_tool as lt
renderer = lt.Renderer("warp")
renderer.render(lt.RenderRequest(portrait="a.jpg", text="Hello!", output="a.mp4"))
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    Cancelled,
    EngineError,
    EngineUnavailableError,
    InputError,
    LipSyncError,
    MediaError,
    RendererBusy,
    ResourceError,
)
from .request import RenderRequest

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .engine.registry import EngineInfo, engines
    from .evaluation import evaluate_video as evaluate
    from .mouth_cues import CueTrack, cues
    from .renderer import InputCheck, Renderer, RenderResult, render
    from .speech.tts import voices

# Imported on first use: they pull in numpy, OpenCV and the engines, and `--help` stays instant.
_LAZY = {
    "Renderer": (".renderer", "Renderer"),
    "InputCheck": (".renderer", "InputCheck"),
    "RenderResult": (".renderer", "RenderResult"),
    "render": (".renderer", "render"),
    "cues": (".mouth_cues", "cues"),
    "CueTrack": (".mouth_cues", "CueTrack"),
    "evaluate": (".evaluation", "evaluate_video"),
    "engines": (".engine.registry", "engines"),
    "EngineInfo": (".engine.registry", "EngineInfo"),
    "voices": (".speech.tts", "voices"),
}

__all__ = [
    "Cancelled",
    "CueTrack",
    "EngineError",
    "EngineInfo",
    "EngineUnavailableError",
    "InputCheck",
    "InputError",
    "LipSyncError",
    "MediaError",
    "RenderRequest",
    "RenderResult",
    "Renderer",
    "RendererBusy",
    "ResourceError",
    "__version__",
    "cues",
    "engines",
    "evaluate",
    "render",
    "voices",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(import_module(module, __name__), attribute)
    raise AttributeError(f"module 'lipsync_tool' has no attribute {name!r}")
