"""The wav2lip engine (not implemented yet)."""

from __future__ import annotations

from ..base import PendingEngine


class Wav2LipEngine(PendingEngine):
    """Wav2Lip generator (not implemented yet)."""

    name = "wav2lip"
    summary = "Wav2Lip (neural mouth inpainting; needs torch and a checkpoint)"
    issue = "Wav2Lip support is tracked in issue 4"
    honoured_options = frozenset({"fps", "cache_dir", "install_deps"})
    honours_wav2lip_options = True
