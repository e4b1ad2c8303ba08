"""The plan a dry run prints, and which of a request's settings the chosen engine ignores."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .option_specs import changed

if TYPE_CHECKING:
    from .engine.base import Engine
    from .request import RenderRequest


CUE_FIELDS = frozenset({"visemes", "language", "transcript", "asr"})
"""Request fields that shape the exported mouth cues, whichever engine renders."""


def ignored_flags(request: RenderRequest, engine: Engine) -> list[str]:
    """Flags of the request's fields set away from their default that `engine` does not use."""
    honoured = engine.honoured_fields()
    if request.export_cues is not None:  # the exported cues come from the speech analysis
        honoured |= CUE_FIELDS
    return [f.flag for f in changed(request) if f.name not in honoured]


@dataclass(frozen=True)
class RenderPlan:
    """Everything a render would do, resolved, with nothing done."""

    engine: str
    output: Path
    duration: float
    frames: int
    faces_seen: int
    resources: tuple[str, ...] = ()
    commands: tuple[tuple[str, ...], ...] = ()
    notes: tuple[str, ...] = ()
    ignored: list[str] = field(default_factory=list)
    """Flags set that the engine does not use."""
    settings: dict[str, Any] = field(default_factory=dict)
    """The engine's load-time settings."""
    request: dict[str, Any] = field(default_factory=dict)
    """The request, JSON-ready."""

    def describe(self) -> str:
        """Human-readable plan."""
        lines = [
            f"engine:    {self.engine}",
            f"output:    {self.output}",
            f"audio:     {self.duration:.2f} s -> {self.frames} frames",
            f"faces:     {self.faces_seen} found (the largest is animated)",
            "resources: " + (", ".join(self.resources) if self.resources else "none to fetch"),
        ]
        lines += [f"note:      {note}" for note in self.notes]
        lines += [
            f"ignored:   {flag} (not used by the {self.engine} engine)" for flag in self.ignored
        ]
        if self.settings:
            lines.append("settings:  " + ", ".join(f"{k}={v}" for k, v in self.settings.items()))
        shown = {k: v for k, v in self.request.items() if k not in ("portrait", "audio", "output")}
        lines.append("request:   " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        lines.append("commands:")
        lines += ["  " + subprocess.list2cmdline(list(command)) for command in self.commands]
        return "\n".join(lines)
