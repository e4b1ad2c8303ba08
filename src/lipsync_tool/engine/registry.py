"""The one registry of engines: name → class. The CLI, validation and `lipsync_tool.engine()` read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..option_specs import OptionField, option_fields
from .base import Engine
from .sadtalker.engine import SadTalkerEngine
from .warp.engine import WarpEngine
from .wav2lip.engine import Wav2LipEngine

ENGINES: dict[str, type[Engine]] = {}
"""Registered engines in registration order; the first is the default."""


def register(engine: type[Engine]) -> type[Engine]:
    """Add `engine` (usable as a class decorator); a name registered twice is an error."""
    if engine.name in ENGINES and ENGINES[engine.name] is not engine:
        raise ValueError(f"an engine named {engine.name!r} is already registered")
    ENGINES[engine.name] = engine
    return engine


def unregister(name: str) -> None:
    """Remove an engine (a plug-in's tests clean up with it)."""
    ENGINES.pop(name, None)


for _engine in (WarpEngine, Wav2LipEngine, SadTalkerEngine):
    register(_engine)

DEFAULT_ENGINE = WarpEngine.name


def engine_names() -> tuple[str, ...]:
    """Registered engine names, the default first."""
    return tuple(ENGINES)


def engine_class(name: str) -> type[Engine]:
    """The engine class registered as `name`; InputError lists the others."""
    try:
        return ENGINES[name]
    except KeyError:
        raise InputError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}") from None


def setting_fields(engine: type[Engine]) -> tuple[OptionField, ...]:
    """The engine's load-time settings with their flags."""
    return option_fields(engine.settings_type, engine.flag_prefix)


def request_option_fields(engine: type[Engine]) -> tuple[OptionField, ...]:
    """The engine's per-request options with their flags."""
    return option_fields(engine.options_type, engine.flag_prefix)


@dataclass(frozen=True)
class EngineInfo:
    """What `lipsync_tool.engine()` says of one engine."""

    name: str
    summary: str
    code_licence: str
    weights_licence: str
    downloads: str
    settings: tuple[OptionField, ...]
    """Load-time settings: `Renderer(engine, **settings)`."""
    options: tuple[OptionField, ...]
    """Per-request options: `RenderRequest(options={...})`."""
    uses: tuple[str, ...]
    """RenderRequest fields it honours beyond those every engine honours."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "name": self.name,
            "summary": self.summary,
            "code_licence": self.code_licence,
            "weights_licence": self.weights_licence,
            "downloads": self.downloads,
            "settings": [f.to_dict() for f in self.settings],
            "options": [f.to_dict() for f in self.options],
            "uses": list(self.uses),
        }


def engine_info(engine: type[Engine]) -> EngineInfo:
    """The description of one engine class."""
    return EngineInfo(
        name=engine.name,
        summary=engine.summary,
        code_licence=engine.code_licence,
        weights_licence=engine.weights_licence,
        downloads=engine.downloads,
        settings=setting_fields(engine),
        options=request_option_fields(engine),
        uses=tuple(sorted(engine.uses)),
    )


def engines() -> tuple[EngineInfo, ...]:
    """Every registered engine, the default first."""
    return tuple(engine_info(engine) for engine in ENGINES.values())
