"""`lipsync-tool estimate --calibrate`: measure an engine's costs on this machine in about 30 s.

Renders the bundled portrait speaking two eSpeak recordings of different lengths (as WAV files,
so that the speech is recognised as a recording's is), after one warm-up render: the difference gives the cost per second of speech, the rest the fixed cost of a
render; a native-size render gives the cost without upscaling. The load cost includes a fresh
interpreter's imports. The peak memory is this process's own high-water mark.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .cache import resolve_cache_dir
from .errors import InputError
from .estimate import SHIPPED, EngineCost, save_cost
from .machine import peak_memory_mb

SHORT = "Hello there."
LONG = {
    # warp's speech analysis (Whisper) works in 30 s windows: the long clip spans one, so the
    # difference between the clips holds its cost (a 5 s clip read 40 % low on 60 s of speech)
    "warp": (
        "Hello there, and welcome to our shop. We bake fresh bread every morning. Come in and "
        "try a slice while it is still warm. Our flour comes from a small mill just outside the "
        "village. On Fridays we also make pies with apples from the orchard. Children love the "
        "cinnamon rolls with sugar on top. The oven is lit at four, long before the sun comes up."
    ),
    # wav2lip's cost grows with the frames alone: a short clip is enough
    "wav2lip": "Hello there, and welcome to our shop. We bake fresh bread every morning.",
}
CALIBRATED = tuple(LONG)
"""Engines whose calibration fits in about 30 s on a CPU."""


def calibrate(
    engine: str, cache_dir: Path | None = None, settings: dict[str, Any] | None = None
) -> tuple[EngineCost, Path]:
    """Measure `engine` (with its load-time `settings`) here, save it beside the model cache;
    the costs and the file."""
    from .demo import demo_portrait
    from .renderer import Renderer
    from .request import RenderRequest
    from .speech.tts import synthesize_to_wav

    if engine not in CALIBRATED:
        raise InputError(
            f"the {engine} engine cannot be calibrated in 30 s on this machine; its estimates "
            "use the shipped figures"
        )
    cache = resolve_cache_dir(cache_dir)
    with tempfile.TemporaryDirectory(prefix="lipsync-calibrate-") as folder:
        start = time.perf_counter()
        renderer = Renderer(engine, cache_dir=cache, **(settings or {}))
        load = time.perf_counter() - start + _startup_seconds()

        def timed(text: str, upscale: bool) -> tuple[float, float, int]:
            # a recording, as most renders get: its speech is recognised, not known from TTS
            wav = Path(folder) / ("short.wav" if text == SHORT else "long.wav")
            if not wav.exists():
                synthesize_to_wav(text, wav, margin=0.3)
            request = RenderRequest(
                portrait=demo_portrait(),
                audio=wav,
                output=Path(folder) / "calibration.mp4",
                overwrite=True,
                upscale=upscale,
            )
            began = time.perf_counter()
            result = renderer.render(request)
            return time.perf_counter() - began, result.duration, result.output.stat().st_size

        timed(SHORT, upscale=False)  # first-render costs are not a render's
        short_time, short_seconds, _ = timed(SHORT, upscale=True)
        long_time, long_seconds, long_bytes = timed(LONG[engine], upscale=True)
        native_time, _, _ = timed(LONG[engine], upscale=False)
    per_second = max(0.0, (long_time - short_time) / (long_seconds - short_seconds))
    fixed = max(0.0, short_time - per_second * short_seconds)
    shipped = SHIPPED[engine]
    cost = EngineCost(
        load=round(load, 3),
        render_fixed=round(fixed, 3),
        per_second=round(per_second, 4),
        per_second_native=round(max(0.0, native_time - fixed) / long_seconds, 4),
        peak_memory_mb=round(peak_memory_mb() or shipped.peak_memory_mb),
        memory_per_second_mb=shipped.memory_per_second_mb,
        gpu_memory_mb=_gpu_peak_mb(engine) or shipped.gpu_memory_mb,
        output_mb_per_second=round(long_bytes / 2**20 / long_seconds, 4),
    )
    return cost, save_cost(engine, cost, cache)


def _startup_seconds() -> float:
    """A fresh interpreter importing what a render imports: part of every command's cost."""
    code = "import lipsync_tool.renderer, lipsync_tool.engine.registry, lipsync_tool.face.analyzer"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def _gpu_peak_mb(engine: str) -> float | None:
    if engine == "warp":
        return None
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return float(torch.cuda.max_memory_allocated()) / 2**20
