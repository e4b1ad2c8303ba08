"""The sadtalker engine (not implemented yet)."""

from __future__ import annotations

from ..base import PendingEngine


class SadTalkerEngine(PendingEngine):
    """Upstream SadTalker in an isolated environment (not implemented yet)."""

    name = "sadtalker"
    summary = "SadTalker (upstream repository, neural; needs downloads)"
    issue = "SadTalker support is tracked in issue 5"
    honoured_options = frozenset(
        {"fps", "resolution", "preprocess", "expression_scale", "still", "enhancer", "cache_dir", "install_deps"}
    )
