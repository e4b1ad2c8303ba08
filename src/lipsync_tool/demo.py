"""The bundled demo: a public-domain portrait (see data/demo_portrait.SOURCE.md) speaking a sentence."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from .request import RenderRequest

DEMO_TEXT = "Hello! This portrait was animated on your computer, offline, by lipsync tool."
PORTRAIT = "data/demo_portrait.jpg"


def demo_portrait() -> Path:
    """The bundled portrait's path (installed with the package)."""
    resource = files(__package__ or "lipsync_tool").joinpath(PORTRAIT)
    with as_file(resource) as path:  # a real file for an installed package or a checkout
        return Path(path)


def demo_request(
    output: Path | str, *, text: str = DEMO_TEXT, voice: str = "en-us", overwrite: bool = False
) -> RenderRequest:
    """The request the `demo` subcommand renders."""
    return RenderRequest(
        portrait=demo_portrait(), output=Path(output), text=text, voice=voice, overwrite=overwrite
    )
