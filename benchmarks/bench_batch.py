"""Batch rendering and the pre-flight estimate, each against its baseline in the same run.

* throughput: 16 rows of 5 s speech, `lipsync-tool batch` (local backend, one worker per core)
  against 16 sequential `lipsync-tool PORTRAIT AUDIO OUTPUT` runs. Goal: at least 1.7x.
* Ray: the same batch with `--backend ray` (a local Ray, the same number of workers) against the
  local backend. Goal: at most 15 % slower. Both run in a network namespace that has only
  loopback (`unshare -n`, root), so Ray's traffic stays on 127.0.0.1.
* estimate: `lipsync-tool estimate --calibrate`, then the estimate of a fresh `lipsync-tool` run
  against its measured wall time, warp and native wav2lip (a checkpoint of the official layout with
  random weights: the same network and cost), on 3, 10 and 60 s of speech. Goal: within 30 %.

Every figure is a wall time of a whole command (interpreter start included). Targets are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h

SENTENCES = (
    "We bake fresh bread and buns for the shop every morning.",
    "Come in and try a slice while it is still warm.",
    "Our flour comes from a small mill just outside the village.",
    "On Fridays we also make pies with apples from the orchard.",
    "Children love the cinnamon rolls with a glaze of sugar on top.",
    "The oven is lit at four, long before the sun comes up.",
    "Each loaf rests for an hour before it goes into the heat.",
    "Many people stop by on their way to work for a coffee.",
    "In winter we bake a dark rye bread with seeds and honey.",
    "Please ask us if you need a cake for a birthday or a wedding.",
    "We close at noon on Sundays so the bakers can rest.",
    "Thank you for visiting, and we hope to see you again soon.",
    "The recipe for our sourdough has been in the family for years.",
    "Every crumb is made by hand, with patience and with care.",
    "Fresh milk arrives from the farm down the road each day.",
    "Our windows face the market square, where the fountain stands.",
)
"""Distinct sentences, so that long speech does not repeat itself (a recogniser treats a
repeated phrase as a hallucination and falls back to slower phone recognition)."""
TARGET_SPEEDUP = 1.7
TARGET_RAY_OVERHEAD = 0.15
TARGET_ESTIMATE = 0.30
BIN = Path(sys.executable).parent


def lipsync(*args: str, netns: bool = False, env: dict[str, str] | None = None) -> float:
    """Wall seconds of one `lipsync-tool` command (in a loopback-only namespace with `netns`)."""
    command = [str(BIN / "lipsync-tool"), *args]
    if netns:
        script = "ip link set lo up; exec " + " ".join(f"'{a}'" for a in command)
        command = ["unshare", "-n", "bash", "-c", script]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def throughput(work: Path, rows: int, seconds: float) -> dict[str, Any]:
    portrait = h.portrait(work)
    audio = h.espeak_long_wav(work / "speech.wav", seconds, SENTENCES)
    manifest = work / "m.csv"
    manifest.write_text(
        "portrait,audio,output\n"
        + "".join(f"{portrait.name},{audio.name},r{n}.mp4\n" for n in range(rows))
    )
    h.log(f"{rows} sequential runs")
    (work / "seq").mkdir()
    sequential = sum(
        lipsync(str(portrait), str(audio), str(work / "seq" / f"r{n}.mp4")) for n in range(rows)
    )
    ray_env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_TMPDIR": tempfile.mkdtemp(prefix="ray-", dir="/tmp"),
    }
    h.log("batch, local backend")
    local = lipsync("batch", str(manifest), "--out-dir", str(work / "local"), netns=True)
    h.log("batch, Ray backend")
    ray = lipsync(
        "batch", str(manifest), "--out-dir", str(work / "ray"), "--backend", "ray",
        "--workers", str(h.environment()["cores"] or 1), netns=True, env=ray_env,
    )  # fmt: skip
    shutil.rmtree(ray_env["RAY_TMPDIR"], ignore_errors=True)
    return {
        "rows": rows,
        "speech_s": seconds,
        "sequential_s": round(sequential, 2),
        "batch_local_s": round(local, 2),
        "batch_ray_s": round(ray, 2),
        "speedup": round(sequential / local, 3),
        "ray_overhead": round(ray / local - 1, 3),
    }


def estimates(work: Path, lengths: list[float]) -> list[dict[str, Any]]:
    portrait = h.portrait(work)
    checkpoint = h.wav2lip_checkpoint(work / "w2l.pth")
    cache = work / "cache"
    env = {**os.environ, "LIPSYNC_CACHE_DIR": str(cache)}
    rows = []
    for engine, extra in (("warp", []), ("wav2lip", ["--wav2lip-checkpoint", str(checkpoint)])):
        h.log(f"calibrating {engine}")
        calibrate_s = lipsync("estimate", "--calibrate", "--engine", engine, *extra, env=env)
        for seconds in lengths:
            audio = h.espeak_long_wav(work / f"s{seconds:g}.wav", seconds, SENTENCES)
            shown = subprocess.run(
                [str(BIN / "lipsync-tool"), "estimate", str(portrait), str(audio), "--engine",
                 engine, *extra, "--json"],
                check=True, capture_output=True, text=True, env=env,
            )  # fmt: skip
            guess = json.loads(shown.stdout)
            h.log(f"{engine}, {seconds:g} s")
            measured = lipsync(
                str(portrait), str(audio), str(work / f"{engine}{seconds:g}.mp4"),
                "--engine", engine, *extra, "--overwrite", env=env,
            )  # fmt: skip
            rows.append(
                {
                    "engine": engine,
                    "speech_s": seconds,
                    "calibration_s": round(calibrate_s, 1),
                    "estimate_s": guess["seconds"],
                    "measured_s": round(measured, 2),
                    "error": round(guess["seconds"] / measured - 1, 3),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--lengths", default="3,10,60", help="estimate: seconds of speech")
    parser.add_argument("--skip", choices=("throughput", "estimate"), default=None)
    args = parser.parse_args()
    env = h.environment()
    h.print_header("batch throughput, Ray overhead and the estimate", env)
    record: dict[str, Any] = {"environment": env}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        work = Path(folder)
        if args.skip != "throughput":
            (work / "t").mkdir()
            result = throughput(work / "t", args.rows, args.seconds)
            record["throughput"] = result
            h.print_table("throughput", ["measure", "value"], list(result.items()), spec=".3f")
            print(
                f"speed-up {result['speedup']:.2f}x (target >= {TARGET_SPEEDUP}); Ray overhead "
                f"{100 * result['ray_overhead']:.1f} % (target <= {100 * TARGET_RAY_OVERHEAD:g} %)"
            )
        if args.skip != "estimate":
            (work / "e").mkdir()
            lengths = [float(x) for x in args.lengths.split(",")]
            rows = estimates(work / "e", lengths)
            record["estimate"] = rows
            h.print_table(
                "estimate against the measured run",
                ["engine", "speech s", "estimate s", "measured s", "error"],
                [(r["engine"], r["speech_s"], r["estimate_s"], r["measured_s"], r["error"])
                 for r in rows],
                notes=[f"target: within {100 * TARGET_ESTIMATE:g} % after calibration"],
            )  # fmt: skip
    h.emit_json("batch", record)


if __name__ == "__main__":
    main()
