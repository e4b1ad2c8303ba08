"""Runs upstream Wav2Lip's `inference.py` in a child process, after fixing what breaks on current libraries.

Usage (what `upstream.py` runs; never imported by the parent process):
    python -m lipsync_tool.engine.wav2lip.upstream_launch [--trust CHECKPOINT] INFERENCE_PY [ARGS...]

The upstream checkout comes from the child's PYTHONPATH, set by the parent; nothing upstream is edited.
Each fix is applied to the library module the upstream code calls, in this process only:
- librosa >= 0.10 made `librosa.filters.mel` keyword-only; upstream `audio.py` calls it positionally.
- librosa >= 0.9 pads the STFT with zeros; Wav2Lip was trained with librosa 0.7's reflect padding.
- OpenCV >= 4.10 has no `cv2.cv2`; upstream's `--rotate` uses `cv2.cv2.ROTATE_90_CLOCKWISE`.
- `torch.load` without `map_location` fails for CUDA-saved files on a CPU-only machine, and torch >= 2.6
  loads with `weights_only=True`; only the trusted checkpoint (`--trust`) is unpickled fully.
"""

from __future__ import annotations

import argparse
import functools
import os
import runpy
import sys
from collections.abc import Callable
from typing import Any

FIXES_APPLIED: list[str] = []


def fix_librosa() -> None:
    """Keyword-only `filters.mel` and reflect-padded `stft`, as upstream's librosa 0.7 behaved."""
    try:
        import librosa
        import librosa.filters
    except ImportError:  # upstream fails on its own import with a clear ModuleNotFoundError
        return
    mel = librosa.filters.mel

    @functools.wraps(mel)
    def mel_positional(*args: Any, **kwargs: Any) -> Any:
        kwargs.update(zip(("sr", "n_fft"), args))
        return mel(**kwargs)

    stft = librosa.stft

    @functools.wraps(stft)
    def stft_reflect(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("pad_mode", "reflect")
        return stft(*args, **kwargs)

    librosa.filters.mel = mel_positional
    librosa.stft = stft_reflect
    FIXES_APPLIED.extend(["librosa.filters.mel positional", "librosa.stft pad_mode=reflect"])


def fix_opencv() -> None:
    """Give modern OpenCV back the `cv2.cv2` alias upstream's `--rotate` uses."""
    try:
        import cv2
    except ImportError:
        return
    if not hasattr(cv2, "cv2"):
        cv2.cv2 = cv2  # type: ignore[attr-defined]
        FIXES_APPLIED.append("cv2.cv2 alias")


def fix_torch_load(trusted: str | None) -> None:
    """`map_location` to the CPU when there is no CUDA; full unpickling only for the trusted checkpoint."""
    try:
        import torch
    except ImportError:
        return
    load: Callable[..., Any] = torch.load
    trusted_path = os.path.realpath(trusted) if trusted else None
    cpu_only = not torch.cuda.is_available()

    @functools.wraps(load)
    def load_fixed(f: Any, *args: Any, **kwargs: Any) -> Any:
        if cpu_only and not args and kwargs.get("map_location") is None:
            kwargs["map_location"] = "cpu"
        if (
            trusted_path
            and isinstance(f, (str, os.PathLike))
            and os.path.realpath(f) == trusted_path
        ):
            kwargs.setdefault("weights_only", False)
        return load(f, *args, **kwargs)

    torch.load = load_fixed
    FIXES_APPLIED.append("torch.load map_location/weights_only")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="upstream_launch", description=__doc__)
    parser.add_argument(
        "--trust",
        help="checkpoint that may be unpickled fully (sha256-verified or named by the user)",
    )
    parser.add_argument("script", help="upstream inference.py")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for inference.py")
    ns = parser.parse_args(argv)
    fix_librosa()
    fix_opencv()
    fix_torch_load(ns.trust)
    sys.stderr.write(
        f"lipsync-tool launcher: fixes applied: {', '.join(FIXES_APPLIED) or 'none'}\n"
    )
    sys.argv = [ns.script, *ns.args]
    runpy.run_path(ns.script, run_name="__main__")


if __name__ == "__main__":
    main()
