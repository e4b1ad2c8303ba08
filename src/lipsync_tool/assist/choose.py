"""Which language model the assistant asks, for every front end (`assist`, `serve`): an
OpenAI-compatible endpoint when one is given, else the embedded GGUF model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .model import EXTRA_HINT, ChatModel, embedded_installed

DEFAULT_KEY_ENV = "LIPSYNC_LLM_API_KEY"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
RESOURCE_GROUP = "assist"
"""The resource table's group holding the embedded model's file."""


@dataclass(frozen=True)
class ModelChoice:
    """The model a front end was started with; `load` makes it, `problem` says why it cannot."""

    url: str | None = None
    """An OpenAI-compatible endpoint (e.g. http://127.0.0.1:11434/v1); None: the embedded model."""
    model: str | None = None
    """The endpoint's model name (None: "default")."""
    key_env: str = DEFAULT_KEY_ENV
    """The environment variable holding the endpoint's API key, if it needs one."""
    cache_dir: Path | None = None
    """Where the embedded model's file is kept (None: the library's default cache)."""

    def __post_init__(self) -> None:
        if self.model and not self.url:
            raise InputError("--llm-model names a model of --llm-url; give the URL too")

    @property
    def remote(self) -> bool:
        return self.url is not None

    def problem(self) -> str | None:
        """Why no model can be had here, and how to fix it; None when one can (the embedded
        model's file may still have to be fetched on first use)."""
        if self.url:
            return None
        if not embedded_installed():
            return (
                f"the assistant's embedded model needs llama.cpp: install it with {EXTRA_HINT}, "
                "or give --llm-url URL of an OpenAI-compatible endpoint"
            )
        from ..cache import resolve_cache_dir
        from ..resources.packaged import packaged_file
        from ..resources.store import ResourceStore
        from ..resources.table import for_engine

        store = ResourceStore(resolve_cache_dir(self.cache_dir))
        if store.offline and any(
            store.status(r).problem is not None and packaged_file(r) is None
            for r in for_engine(RESOURCE_GROUP)
        ):
            return (
                "the assistant's model file is not in the cache and LIPSYNC_OFFLINE is set: "
                f"fetch it with lipsync-tool resources fetch --engine {RESOURCE_GROUP}, or give "
                "--llm-url URL"
            )
        return None

    def load(self) -> ChatModel:
        """The model, ready to answer (the embedded one's file fetched when missing)."""
        from .model import EmbeddedModel, RemoteModel

        if self.url:
            return RemoteModel(self.url, self.model or "default", os.environ.get(self.key_env))
        from ..cache import resolve_cache_dir
        from ..resources.store import ResourceStore
        from ..resources.table import for_engine

        store = ResourceStore(resolve_cache_dir(self.cache_dir))
        paths = store.ensure(for_engine(RESOURCE_GROUP))
        return EmbeddedModel(next(iter(paths.values())))
