"""Loudness: measure it (EBU R128 / ITU-R BS.1770) and build the filter that normalises it.

``loudnorm``'s measuring pass reads the file's integrated loudness and true peak here; the
filter returned is a fixed gain (``volume``) the caller puts in the final encode (``-af``), so the
muxed audio is levelled in the same ffmpeg run that writes the video, at its own rate and layout.
One gain keeps the speech's own dynamics. A file too peaky for one gain under ``true_peak`` gets
the gain and a peak limiter; the limiter's loss is measured and made up until on target.
loudnorm's own second pass is not used: on short clips its dynamic fallback (it needs 3 s of
input) overshoots, and ffmpeg 4.1's linear mode missed the target by 4 LU on a 2.7 s clip.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

from ..errors import InputError, MediaError
from .ffmpeg import run_ffmpeg
from .probe import probe

log = logging.getLogger(__name__)

DEFAULT_TARGET_LUFS = -16.0
TARGET_RANGE = (-70.0, -5.0)  # LUFS, loudnorm's own limits
TRUE_PEAK_RANGE = (-9.0, 0.0)  # dBTP
SILENT_LUFS = -70.0  # ebur128's floor: nothing above the absolute gate
LIMITER_MARGIN_DB = 0.5  # the limiter holds sample peaks; true peaks between samples run higher
LIMITER_PASSES = 3
LIMITER_TOLERANCE_LU = 0.3

_SUMMARY_I = re.compile(r"Summary:.*?\bI:\s*(-?\d+(?:\.\d+)?|-?inf)\s*LUFS", re.DOTALL)
_JSON_BLOCK = re.compile(r"\{[^{}]*\}", re.DOTALL)
_MEASURED = {"input_i": "measured_I", "input_tp": "measured_TP", "input_lra": "measured_LRA",
             "input_thresh": "measured_thresh", "target_offset": "offset"}  # fmt: skip


def check_target(target_lufs: float) -> float:
    """Return `target_lufs` if loudnorm accepts it, else raise InputError naming the flag."""
    low, high = TARGET_RANGE
    if not (
        isinstance(target_lufs, (int, float))
        and math.isfinite(target_lufs)
        and low <= target_lufs <= high
    ):
        raise InputError(
            f"--normalize-loudness {target_lufs} is outside {low:g} to {high:g} LUFS; "
            f"give a target such as {DEFAULT_TARGET_LUFS:g} (podcasts, web video) or -23 (EBU R128 broadcast)"
        )
    return float(target_lufs)


def measure_loudness(ffmpeg: str, path: Path, audio_filter: str | None = None) -> float:
    """Integrated loudness of `path`'s first audio stream in LUFS (-70 for silence), from ffmpeg's ebur128.

    With `audio_filter`, of the stream as that filter leaves it.
    """
    meter = "ebur128=framelog=verbose"
    args = [
        "-nostats",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-af",
        f"{audio_filter},{meter}" if audio_filter else meter,
        "-f",
        "null",
        "-",
    ]
    proc = run_ffmpeg(ffmpeg, args, what=f"measuring the loudness of {path.name}")
    report = proc.stderr.decode("utf-8", "replace")
    match = _SUMMARY_I.search(report)
    if match is None:
        raise MediaError(
            f"ffmpeg's ebur128 gave no integrated loudness for {path}; is there an audio stream?"
        )
    value = float(match.group(1))
    return max(value, SILENT_LUFS)


def _first_pass(ffmpeg: str, path: Path, settings: str) -> dict[str, str]:
    """Run loudnorm's measuring pass and return its JSON report."""
    args = [
        "-nostats",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-af",
        f"{settings}:print_format=json",
        "-f",
        "null",
        "-",
    ]
    proc = run_ffmpeg(ffmpeg, args, what=f"measuring the loudness of {path.name} for loudnorm")
    blocks = _JSON_BLOCK.findall(proc.stderr.decode("utf-8", "replace"))
    try:
        report = json.loads(blocks[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        raise MediaError(f"ffmpeg's loudnorm printed no measurement for {path}") from exc
    missing = [key for key in _MEASURED if key not in report]
    if missing:
        raise MediaError(f"ffmpeg's loudnorm measurement of {path} lacks {', '.join(missing)}")
    return report


def loudness_filter(
    ffmpeg: str,
    path: Path,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    true_peak: float = -1.5,
) -> str:
    """Measure `path` and return the audio filter (for `-af`) that brings it to `target_lufs`.

    A silent file gets ``anull``: there is nothing to raise to a target.
    """
    target = check_target(target_lufs)
    if not TRUE_PEAK_RANGE[0] <= true_peak <= TRUE_PEAK_RANGE[1]:
        raise ValueError(f"true_peak {true_peak} dBTP is outside {TRUE_PEAK_RANGE}")
    info = probe(ffmpeg, path)
    if info.audio is None:
        raise InputError(
            f"{path} has no audio track to normalise; drop --normalize-loudness or give audio"
        )
    settings = f"loudnorm=I={target:g}:TP={true_peak:g}"
    report = _first_pass(ffmpeg, path, settings)
    measured = {name: report[key] for key, name in _MEASURED.items()}
    if not all(math.isfinite(float(value)) for value in measured.values()):
        log.info("%s is silent; loudness normalisation leaves it as it is", path.name)
        return "anull"
    log.debug(
        "%s measures %s LUFS; normalising to %g LUFS", path.name, measured["measured_I"], target
    )
    gain = target - float(measured["measured_I"])
    if float(measured["measured_TP"]) + gain > true_peak:
        log.debug("%s is too peaky for a linear gain of %.1f dB: limiting", path.name, gain)
        return _limited(ffmpeg, path, target, gain, true_peak)
    return f"volume={gain:.2f}dB"


def _limited(ffmpeg: str, path: Path, target: float, gain: float, true_peak: float) -> str:
    """A gain and a peak limiter that reach `target`: the limiter's loss is measured and made up."""
    ceiling = 10 ** ((true_peak - LIMITER_MARGIN_DB) / 20)

    def chain(gain_db: float) -> str:
        return (
            f"volume={gain_db:.2f}dB,alimiter=limit={ceiling:.4f}:attack=5:release=50:level=false"
        )

    for _ in range(LIMITER_PASSES):
        reached = measure_loudness(ffmpeg, path, audio_filter=chain(gain))
        if abs(reached - target) <= LIMITER_TOLERANCE_LU:
            break
        gain += target - reached
    return chain(gain)
