"""Benchmark Wav2Lip: our native inference against upstream's own inference.py, same clip, same checkpoint file.

One run renders the same portrait and speech (default: grace_hopper + 10 s of speech-like sound) with
the same checkpoint file (written here in the official layout: `module.`-prefixed `state_dict` plus
optimizer entries, seeded random weights, about 145 MB) through the whole pipeline, one child
process per render so peak memory is measured per render:

* native, with the built-in MediaPipe face box, and native with the face box given by hand
  (`--wav2lip-crop`): frames/s per stage from the engine's `stage_seconds` (load, detect, mel,
  generator, paste) and the pipeline's `RenderResult.stage_seconds` (encode);
* upstream (`--wav2lip-impl upstream`, the pinned checkout's inference.py run by our launcher) with
  the same box (`--box`; no s3fd weights are needed): frames/s of the inference.py process (its whole
  wall time, from start-up to its own mux), and of the whole render.

Peak memory is the largest sum of resident memory over the render's whole process tree (the render
process, ffmpeg, upstream's inference.py), sampled from /proc every 0.1 s (getrusage's maxrss of
children is useless here: a forked child reports its parent's pages). The ratios native/upstream are printed; the targets
(native >= 2x upstream's throughput, no more memory) are reported, never asserted.

Upstream needs librosa and a clone: set LIPSYNC_WAV2LIP_REPO_URL (e.g. file:///work/.mirror/Rudrabha+Wav2Lip/repo)
where GitHub cannot be reached. Run `python benchmarks/bench_wav2lip.py --help`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

SPEECH_RATE = 16000
TARGET_SPEEDUP = 2.0
CONFIGS = {  # native renders upstream's frozen face (no blinks, no head motion) unless "life"
    "native": {"impl": "native"},
    "native-crop": {"impl": "native", "crop": True},
    "native-life": {"impl": "native", "life": True},
    "upstream-crop": {"impl": "upstream", "crop": True},
}


def speech_like(duration: float, seed: int = 0) -> np.ndarray:
    """Vowel-like harmonics at 4 syllables a second, with pauses, as float32 in [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration * SPEECH_RATE))) / SPEECH_RATE
    envelope = np.abs(np.sin(np.pi * 4.0 * t)) ** 1.5 * (np.sin(2 * np.pi * 0.25 * t) > -0.6)
    phase = 2 * np.pi * np.cumsum(140 + 25 * np.sin(2 * np.pi * 0.7 * t)) / SPEECH_RATE
    signal = sum(np.sin(k * phase) / k for k in range(1, 16)) * envelope + rng.normal(
        0, 1e-4, len(t)
    )
    return (signal / np.max(np.abs(signal)) * 0.5).astype(np.float32)


def write_inputs(folder: Path, duration: float) -> tuple[Path, Path, Path]:
    """(portrait, speech, checkpoint) in `folder`."""
    import matplotlib.cbook
    import torch

    from lipsync_tool.engine.wav2lip.model import KEY_PREFIX, Wav2LipGenerator

    portrait = folder / "grace_hopper.jpg"
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        portrait.write_bytes(handle.read())
    speech = folder / "speech.wav"
    with wave.open(str(speech), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SPEECH_RATE)
        out.writeframes((speech_like(duration) * 32767).astype("<i2").tobytes())
    torch.manual_seed(0)
    state = {KEY_PREFIX + k: v for k, v in Wav2LipGenerator().state_dict().items()}
    checkpoint = folder / "wav2lip_official_layout.pth"
    torch.save(
        {"state_dict": state, "optimizer": {}, "global_step": 0, "global_epoch": 0}, checkpoint
    )
    return portrait, speech, checkpoint


def face_crop(portrait: Path) -> tuple[int, int, int, int]:
    """The MediaPipe face box of the portrait, 10 px more below (upstream's default bottom pad): X1 Y1 X2 Y2."""
    from PIL import Image

    from lipsync_tool.face.analyzer import FaceAnalyzer

    box = FaceAnalyzer().analyze(np.asarray(Image.open(portrait).convert("RGB"))).box
    return int(box.x0), int(box.y0), int(box.x1), int(box.y1) + 10


def render_once(
    config: str, portrait: Path, speech: Path, checkpoint: Path, crop: list[int], cache: Path
) -> dict[str, Any]:
    """One render in this process (the child's side): stage seconds, engine seconds, peak memory."""
    from lipsync_tool.options import RenderOptions, Wav2LipOptions
    from lipsync_tool.pipeline import LipSyncPipeline

    spec = CONFIGS[config]
    wav2lip = Wav2LipOptions(
        impl=spec["impl"],
        checkpoint=str(checkpoint),
        crop=tuple(crop) if spec.get("crop") else None,
    )
    frozen = (
        {} if spec.get("life") else {"blink": False, "expression_scale": 0.0}
    )  # upstream's output: only the mouth moves
    options = RenderOptions(
        engine="wav2lip", cache_dir=cache, overwrite=True, wav2lip=wav2lip, **frozen
    )
    pipeline = LipSyncPipeline(options)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = pipeline.render(portrait, speech, Path(out) / "out.mp4")
        wall = time.perf_counter() - started
    engine = pipeline.engine
    inner = getattr(engine, "_upstream", None) if spec["impl"] == "upstream" else None
    engine_stages = (
        dict(inner.stage_seconds)
        if inner is not None
        else dict(getattr(engine, "stage_seconds", {}))
    )
    return {
        "config": config,
        "frames": result.frames,
        "frame_size": list(result.frame_size),
        "wall": wall,
        "pipeline_stages": result.stage_seconds,
        "engine_stages": engine_stages,
        "peak_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants now, in MB (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [
            pid for pid, parent in parents.items() if parent in frontier and pid not in tree
        ]
        tree.update(frontier)
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
    return total / 1024


def run_child(
    config: str, paths: tuple[Path, Path, Path], crop: tuple[int, ...], cache: Path
) -> dict[str, Any]:
    """Render `config` in a child process, sampling the memory of its whole process tree every 0.1 s."""
    command = [
        sys.executable,
        __file__,
        "--child",
        config,
        "--inputs",
        *map(str, paths),
        "--crop",
        *map(str, crop),
        "--cache",
        str(cache),
    ]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            time.sleep(0.1)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{config} failed:\n{err.read()[-3000:]}")
        run = json.loads(out.read().strip().splitlines()[-1])
    run["peak_tree_mb"] = peak
    return run


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (its own stages and memory, so the figures stay consistent)."""
    ordered = sorted(runs, key=lambda run: run["wall"])
    return {**ordered[(len(ordered) - 1) // 2], "walls": [round(run["wall"], 2) for run in runs]}


def fps(frames: int, seconds: float) -> float:
    return frames / seconds if seconds > 0 else float("inf")


def report(runs: dict[str, dict[str, Any]]) -> list[str]:
    """The side-by-side table and the ratios."""
    lines = [
        f"{'config':<14} {'frames':>6} {'wall s':>7} {'engine s':>8} {'engine fps':>10} {'whole fps':>9} "
        f"{'peak MB':>8}  stages (s)"
    ]
    engine_fps: dict[str, float] = {}
    for name, run in runs.items():
        stages = run["engine_stages"]
        engine_s = engine_seconds(name, run)
        engine_fps[name] = fps(run["frames"], engine_s)
        detail = {**stages, "encode": run["pipeline_stages"].get("encode", 0.0)}
        lines.append(
            f"{name:<14} {run['frames']:>6} {run['wall']:>7.2f} {engine_s:>8.2f} {engine_fps[name]:>10.1f} "
            f"{fps(run['frames'], run['wall']):>9.1f} {run['peak_tree_mb']:>8.0f}  "
            + ", ".join(f"{k} {v:.2f}" for k, v in detail.items())
        )
    for name, run in runs.items():
        if name.startswith("native"):
            per_stage = ", ".join(
                f"{k} {fps(run['frames'], v):.0f} fps"
                for k, v in run["engine_stages"].items()
                if v > 0
            )
            lines.append(
                f"{name} per stage: {per_stage}, encode {fps(run['frames'], run['pipeline_stages'].get('encode', 0)):.0f} fps"
            )
    if "upstream-crop" in runs:
        up = runs["upstream-crop"]
        up_peak = up["peak_tree_mb"]
        for name in (n for n in runs if n.startswith("native")):
            run = runs[name]
            speedup = engine_fps[name] / engine_fps["upstream-crop"]
            whole = up["wall"] / run["wall"]
            peak = run["peak_tree_mb"]
            lines.append(
                f"{name} / upstream: engine throughput x{speedup:.2f}, whole render x{whole:.2f} "
                f"(target x{TARGET_SPEEDUP:g}: {'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}); "
                f"peak memory (process tree) {peak:.0f} MB vs {up_peak:.0f} MB "
                f"({'no more memory' if peak <= up_peak else 'MORE memory'})"
            )
    return lines


def engine_seconds(name: str, run: dict[str, Any]) -> float:
    """The engine's own seconds: upstream's inference.py process, or the sum of the native stages."""
    stages = run["engine_stages"]
    return stages.get("inference", 0.0) if name.startswith("upstream") else sum(stages.values())


def round_ratios(rounds: list[dict[str, dict[str, Any]]]) -> list[str]:
    """native/upstream throughput per round (the two ran minutes apart under the same load), and the median."""
    lines = []
    for name in (n for n in rounds[0] if n.startswith("native")):
        if "upstream-crop" not in rounds[0]:
            break
        engine = sorted(
            engine_seconds("upstream-crop", r["upstream-crop"]) / engine_seconds(name, r[name])
            for r in rounds
        )
        whole = sorted(r["upstream-crop"]["wall"] / r[name]["wall"] for r in rounds)
        lines.append(
            f"{name} / upstream per round: engine x{', x'.join(f'{v:.2f}' for v in engine)} "
            f"(median x{engine[(len(engine) - 1) // 2]:.2f}); whole render x{', x'.join(f'{v:.2f}' for v in whole)} "
            f"(median x{whole[(len(whole) - 1) // 2]:.2f})"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds of speech (default 10)"
    )
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds (configs interleaved); the median round is reported",
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--crop", nargs=4, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(render_once(args.child, *args.inputs, args.crop, args.cache)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-wav2lip-") as temp:
        folder = Path(temp)
        paths = write_inputs(folder, args.duration)
        crop = face_crop(paths[0])
        cache = Path(os.environ.get("LIPSYNC_CACHE_DIR", folder / "cache"))
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
            f"{args.duration:g} s of speech, grace_hopper 512x600, crop {crop}, checkpoint {paths[2].stat().st_size:,} bytes"
        )
        rounds = [
            {config: run_child(config, paths, crop, cache) for config in args.configs}
            for _ in range(args.repeat)
        ]
    runs = {config: median_run([r[config] for r in rounds]) for config in args.configs}
    lines = report(runs) + round_ratios(rounds)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps({"runs": runs, "rounds": rounds, "report": lines}, indent=2)
        )


if __name__ == "__main__":
    main()
