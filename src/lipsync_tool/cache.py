"""Where downloaded resources live: explicit argument, then $LIPSYNC_CACHE_DIR, then the platform cache dir."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "LIPSYNC_CACHE_DIR"


def resolve_cache_dir(explicit: Path | None = None, environ: dict[str, str] | None = None) -> Path:
    """The cache directory to use (not created here)."""
    if explicit is not None:
        return Path(explicit).expanduser().absolute()
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser().absolute()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lipsync-tool", appauthor=False))
