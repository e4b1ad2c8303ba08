"""The plan a --dry-run prints, and which of the user's flags the chosen engine ignores."""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .options import RenderOptions, Wav2LipOptions

if TYPE_CHECKING:
    from .engines.base import Engine

GENERAL_OPTIONS = frozenset(
    {
        "engine",
        "cache_dir",
        "upscale",
        "keep_temp",
        "overwrite",
        "max_duration",
        "export_cues",
        "text",
        "voice",
        "rate",
        "pitch",
        "save_audio",
        "trim_silence",
        "max_pause",
        "normalize_loudness",
    }
)
FLAG_NAMES = {"still": "--no-still", "upscale": "--no-upscale", "blink": "--no-blink"}


def flag_name(field_name: str) -> str:
    """The CLI flag that sets a RenderOptions field."""
    return FLAG_NAMES.get(field_name, "--" + field_name.replace("_", "-"))


def ignored_flags(options: RenderOptions, engine: Engine) -> list[str]:
    """Flags the user set that `engine` does not use."""
    ignored = [
        flag_name(name)
        for name in options.differs_from_default()
        if name not in GENERAL_OPTIONS and name != "wav2lip" and name not in engine.honoured_options
    ]
    if not engine.honours_wav2lip_options:
        defaults = Wav2LipOptions()
        for f in dataclasses.fields(Wav2LipOptions):
            if getattr(options.wav2lip, f.name) != getattr(defaults, f.name):
                ignored.append("--wav2lip-" + f.name.replace("_", "-"))
    return ignored


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
    options: dict[str, Any] = field(default_factory=dict)

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
        lines.append(
            "options:   " + ", ".join(f"{k}={v}" for k, v in self.options.items() if k != "wav2lip")
        )
        lines.append("commands:")
        lines += ["  " + subprocess.list2cmdline(list(command)) for command in self.commands]
        return "\n".join(lines)
