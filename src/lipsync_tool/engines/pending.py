"""The neural engines, listed so the CLI knows them, until their implementations land."""

from __future__ import annotations

from .base import PendingEngine


class SadTalkerEngine(PendingEngine):
    """Upstream SadTalker in an isolated environment (not implemented yet)."""

    name = "sadtalker"
    summary = "SadTalker (upstream repository, neural; needs downloads)"
    issue = "SadTalker support is tracked in issue 5"
    honoured_options = frozenset(
        {"fps", "resolution", "preprocess", "expression_scale", "still", "enhancer", "cache_dir", "install_deps"}
    )


class Wav2LipEngine(PendingEngine):
    """Wav2Lip generator (not implemented yet)."""

    name = "wav2lip"
    summary = "Wav2Lip (neural mouth inpainting; needs torch and a checkpoint)"
    issue = "Wav2Lip support is tracked in issue 4"
    honoured_options = frozenset({"fps", "cache_dir", "install_deps"})
    honours_wav2lip_options = True
