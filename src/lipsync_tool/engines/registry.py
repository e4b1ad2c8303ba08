"""The one registry of engines: name → class. The CLI's choices and help come from it."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..options import RenderOptions
from .base import Engine
from .sadtalker.engine import SadTalkerEngine
from .warp.engine import WarpEngine
from .wav2lip.engine import Wav2LipEngine

ENGINES: dict[str, type[Engine]] = {
    WarpEngine.name: WarpEngine,
    SadTalkerEngine.name: SadTalkerEngine,
    Wav2LipEngine.name: Wav2LipEngine,
}

DEFAULT_ENGINE = WarpEngine.name


def engine_names() -> tuple[str, ...]:
    """Registered engine names, the default first."""
    return tuple(ENGINES)


def create_engine(options: RenderOptions, cache_dir: Path) -> Engine:
    """Instantiate the engine `options.engine` names."""
    try:
        engine_class = ENGINES[options.engine]
    except KeyError:
        raise InputError(
            f"unknown engine '{options.engine}'; choose one of {', '.join(ENGINES)}"
        ) from None
    return engine_class(options, cache_dir)
