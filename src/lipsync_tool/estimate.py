"""A pre-flight estimate of a render: time, memory, disk and downloads, from headers only.

The speech's length comes from the recording's header (ffmpeg reads no samples), or from the
words of `text` at eSpeak's speaking rate; the portrait's size from its header. Costs per engine
come from a calibration of this machine (`calibrate`), or from shipped figures measured on a
2-core x86 machine, and `Estimate.calibrated` says which.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cache import resolve_cache_dir
from .errors import InputError
from .request import RenderRequest

HIGH = 1.5
"""`seconds_high` over `seconds`: a busy machine, a slower CPU, speech that is hard to hear."""
CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class EngineCost:
    """What an engine costs on one machine. Seconds of a render = `render_fixed` +
    `per_second` × seconds of speech (at 25 fps and 1080 lines; `per_second_native` without
    upscaling), plus `load` (a fresh process's imports and model loads) when not loaded yet."""

    load: float
    render_fixed: float
    per_second: float
    per_second_native: float
    peak_memory_mb: float
    memory_per_second_mb: float
    gpu_memory_mb: float | None
    output_mb_per_second: float


SHIPPED: dict[str, EngineCost] = {
    # warp: bench_pipeline and bench_serve on a 2-core Intel Xeon (docs/benchmarks.md)
    "warp": EngineCost(2.0, 0.6, 0.38, 0.25, 650.0, 0.25, None, 0.15),
    # native wav2lip on the CPU: bench_renderer (about 1.8x real time at 25 fps)
    "wav2lip": EngineCost(5.4, 0.8, 1.9, 1.75, 1500.0, 0.5, 1500.0, 0.30),
    # sadtalker: upstream users' figures on a GPU; on a CPU it is many times slower
    "sadtalker": EngineCost(30.0, 10.0, 12.0, 12.0, 6000.0, 2.0, 6000.0, 0.30),
}
TEMP_MB_PER_SECOND = 0.35
"""Decoded and muxed speech in the work folder."""


@dataclass(frozen=True)
class Download:
    name: str
    size_mb: float | None


@dataclass(frozen=True)
class Estimate:
    """A render's expected cost; JSON-ready through `to_dict`."""

    seconds: float
    """Typical wall-clock time, model loading included."""
    seconds_high: float
    peak_memory_mb: float
    gpu_memory_mb: float | None
    """On a GPU (neural engines); None for the CPU-only warp engine."""
    disk_mb: float
    """Output, temporary files and downloads."""
    downloads: list[Download] = field(default_factory=list)
    fits: bool = True
    """Memory and disk are there for it."""
    calibrated: bool = False
    """The costs come from `lipsync-tool estimate --calibrate` on this machine."""
    speech_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    """Why it does not fit, when it does not."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        from .progress import duration_text

        low, high = duration_text(self.seconds), duration_text(self.seconds_high)
        lines = [
            f"time:      about {low} (up to {high}) for {self.speech_seconds:.1f} s of speech",
            f"memory:    {self.peak_memory_mb:.0f} MB"
            + (f", GPU {self.gpu_memory_mb:.0f} MB" if self.gpu_memory_mb else ""),
            f"disk:      {self.disk_mb:.0f} MB",
        ]
        if self.downloads:
            listed = ", ".join(f"{d.name} ({d.size_mb or 0:.0f} MB)" for d in self.downloads)
            lines.append(f"downloads: {listed}")
        lines.append("fits:      " + ("yes" if self.fits else "no: " + "; ".join(self.problems)))
        source = "this machine's calibration" if self.calibrated else "shipped figures"
        lines.append(f"costs:     {source} (lipsync-tool estimate --calibrate measures them)")
        return "\n".join(lines)


def estimate(
    request: RenderRequest,
    engine: str = "warp",
    *,
    cache_dir: Path | None = None,
    loaded: bool = False,
    settings: dict[str, Any] | None = None,
) -> Estimate:
    """The expected cost of rendering `request` with `engine`, read from headers only.
    `loaded`: the engine's models are loaded already (a warm Renderer, a server's worker)."""
    cache = resolve_cache_dir(cache_dir)
    cost, calibrated = engine_cost(engine, cache)
    seconds_of_speech = speech_seconds(request)
    seconds = render_seconds(cost, request, seconds_of_speech) + (0 if loaded else cost.load)
    downloads = missing_downloads(request, engine, cache, settings or {})
    download_mb = sum(d.size_mb or 0 for d in downloads)
    output_mb = cost.output_mb_per_second * seconds_of_speech * (1 if request.upscale else 0.4)
    disk = output_mb + TEMP_MB_PER_SECOND * seconds_of_speech + download_mb
    memory = cost.peak_memory_mb + cost.memory_per_second_mb * seconds_of_speech
    if _learned_upscaling(request, engine):
        from .engine.registry import engine_class
        from .upscale import cost as upscale_cost

        work = engine_class(engine).learned_work(*upscale_cost.portrait_size(request.portrait))
        seconds += work.seconds(round(seconds_of_speech * request.fps))
        memory += upscale_cost.MEMORY_MB
    problems = _problems(memory, disk, request.output.parent, download_mb, cache)
    return Estimate(
        seconds=round(seconds, 2),
        seconds_high=round(seconds * HIGH, 2),
        peak_memory_mb=round(memory),
        gpu_memory_mb=cost.gpu_memory_mb if _has_gpu() else None,
        disk_mb=round(disk, 1),
        downloads=downloads,
        fits=not problems,
        calibrated=calibrated,
        speech_seconds=round(seconds_of_speech, 2),
        problems=problems,
    )


def _learned_upscaling(request: RenderRequest, engine: str) -> bool:
    from .engine.registry import engine_class

    uses = engine_class(engine).uses
    return request.upscale and request.upscaler == "realesrgan" and "upscaler" in uses


def render_seconds(cost: EngineCost, request: RenderRequest, speech: float) -> float:
    """A loaded engine's seconds for `speech` seconds of `request`."""
    per_second = cost.per_second if request.upscale else cost.per_second_native
    return cost.render_fixed + per_second * request.fps / 25.0 * speech


def speech_seconds(request: RenderRequest) -> float:
    """The speech's length without decoding it: the recording's header, or the words of the
    text at the speaking rate (eSpeak keeps to it within about 15 %)."""
    if request.text is not None:
        from .speech_input import TEXT_MARGIN

        return len(request.text.split()) * 60.0 / request.rate + 2 * TEXT_MARGIN
    assert request.audio is not None
    from .media.audio import check_audio
    from .media.ffmpeg import find_ffmpeg

    if not request.audio.is_file():
        raise InputError(f"AUDIO {request.audio} does not exist")
    info = check_audio(find_ffmpeg(), request.audio, max_duration=request.max_duration)
    if info.duration is None:
        raise InputError(f"AUDIO {request.audio}: its length is not in its header")
    return min(info.duration, request.max_duration)


def missing_downloads(
    request: RenderRequest, engine: str, cache: Path, settings: dict[str, Any]
) -> list[Download]:
    """The model files the render would still fetch."""
    from .engine.base import EngineContext
    from .engine.registry import engine_class
    from .option_specs import build
    from .resources.store import ResourceStore
    from .resources.table import resource

    engine_type = engine_class(engine)
    built = build(engine_type.settings_type, settings, f"{engine} setting", engine_type.flag_prefix)
    instance = engine_type(built, EngineContext(cache))
    options = build(
        engine_type.options_type, request.options, f"{engine} option", engine_type.flag_prefix
    )
    try:
        names = instance.full_plan(request, options).resources
    except InputError:
        return []
    store = ResourceStore(cache, offline=True)
    missing = []
    for name in names:
        try:
            item = resource(name)
        except (KeyError, InputError):
            continue  # an upstream checkout, not a file of the table
        if store.status(item).problem is not None:
            size = item.size / 2**20 if item.size else None
            missing.append(Download(name, round(size, 1) if size else None))
    return missing


def engine_cost(engine: str, cache: Path) -> tuple[EngineCost, bool]:
    """This machine's calibrated cost of `engine`, else the shipped one; and which it is."""
    path = cache / CALIBRATION_FILE
    try:
        saved = json.loads(path.read_text())[engine]
        return EngineCost(**saved), True
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if engine not in SHIPPED:
        raise InputError(f"no cost figures for the engine {engine!r}; run estimate --calibrate")
    return SHIPPED[engine], False


def save_cost(engine: str, cost: EngineCost, cache: Path) -> Path:
    path = cache / CALIBRATION_FILE
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    saved[engine] = asdict(cost)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(saved, indent=2))
    partial.replace(path)
    return path


def _problems(
    memory: float, disk: float, folder: Path, download_mb: float, cache: Path
) -> list[str]:
    problems = []
    from .machine import available_memory_mb

    available = available_memory_mb()
    if available is not None and memory > available:
        problems.append(f"needs {memory:.0f} MB of memory, {available:.0f} MB are free")
    probe_folder = folder if folder.exists() else Path.cwd()
    free = shutil.disk_usage(probe_folder).free / 2**20
    if disk - download_mb > free:
        problems.append(
            f"needs {disk - download_mb:.0f} MB of disk in {folder}, {free:.0f} MB free"
        )
    if download_mb:
        cache_free = shutil.disk_usage(cache if cache.exists() else Path.cwd()).free / 2**20
        if download_mb > cache_free:
            problems.append(
                f"downloads need {download_mb:.0f} MB in {cache}, {cache_free:.0f} free"
            )
    return problems


def _has_gpu() -> bool:
    from .machine import gpu_count

    return gpu_count() > 0
