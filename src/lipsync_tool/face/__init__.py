"""Face geometry: detection, the 468-point mesh, named landmarks and measurements.

The public classes are imported lazily so that ``import lipsync_tool.face`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "FaceBox": "detector",
    "FaceDetector": "detector",
    "FaceLandmarks": "mesh",
    "FaceMesh": "mesh",
    "Roi": "mesh",
    "FaceAnalyzer": "analyzer",
    "PortraitFace": "analyzer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
