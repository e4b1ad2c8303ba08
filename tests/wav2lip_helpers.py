"""Helpers of the wav2lip tests: a checkpoint file in the official layout with deterministic weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "wav2lip"


def _hash_uniform(n: int, k: int) -> np.ndarray:
    """u[0..n-1] in [-0.5, 0.5) from the 32-bit integer hash of the parity README, in float64."""
    mask = np.uint64(0xFFFFFFFF)
    x = (
        np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(k * 40503 + 12345)
    ) & mask
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(2246822519)) & mask
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(3266489917)) & mask
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 2.0**32 - 0.5


def official_state() -> dict:
    """The parity weights keyed as in the official files (`module.` prefix, 352 tensors), filled as the parity
    README says (scaled in float64, then cast to float32)."""
    import torch

    state = {}
    for k, entry in enumerate(
        json.loads((DATA / "wav2lip_state_dict_layout.json").read_text())["tensors"]
    ):
        key, shape = entry["key"], tuple(entry["shape"])
        n = int(np.prod(shape, dtype=np.int64))
        if entry["dtype"] == "int64":
            state[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        u = _hash_uniform(n, k)
        if key.endswith("running_var"):
            values = 1 + 0.2 * u
        elif key.endswith("running_mean"):
            values = 0.1 * u
        elif len(shape) >= 2:
            values = u * 1.3 * np.sqrt(6.0 / (n / shape[0]))
        elif key.endswith(".weight"):
            values = 1 + 0.2 * u
        else:
            values = 0.2 * u
        state[key] = torch.from_numpy(values.astype(np.float32).reshape(shape))
    return state


def write_official_checkpoint(path: Path) -> Path:
    """A .pth as upstream saved them: {"state_dict": {"module.<key>": tensor}, "optimizer": ..., ...}."""
    import torch

    torch.save(
        {"state_dict": official_state(), "optimizer": {}, "global_step": 1, "global_epoch": 1}, path
    )
    return path
