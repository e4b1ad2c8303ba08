"""Wav2Lip: our native inference against upstream's own inference.py, same clip, same checkpoint file.

Every render is a fresh Python process (see _harness.py) running `Renderer("wav2lip",
checkpoint=PATH, impl=...)` and one `render()` of grace_hopper (512×600) speaking S seconds
(default 10) of speech-like sound, output at 1080 lines. The checkpoint is written here in the
official layout with seeded random weights (about 145 MB; same network, same cost as the real
files). Configurations, alternating in each round (--repeats rounds, the median round reported):

* native: the built-in MediaPipe face box; native-crop: the box given by hand (options crop);
  native-life: with blinks and head motion (the others render upstream's frozen face:
  blink off, expression_scale 0);
* upstream-crop: `impl="upstream"`, the pinned checkout's inference.py with the same box (no s3fd
  weights needed). Needs librosa and a clone: set LIPSYNC_WAV2LIP_REPO_URL to a local mirror
  where GitHub cannot be reached.

Engine seconds = the engine's load (`Renderer.load_seconds["engine"]`) plus the sum of
`RenderResult.engine_seconds` (upstream: its setup and the whole inference.py process, which
loads the model on every render). Peak memory is the largest summed RSS of the render's whole
process tree (render process, ffmpeg, inference.py). Native ÷ upstream throughput is reported
against the target of 2×, never asserted.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h

TARGET_SPEEDUP = 2.0
CONFIGS: dict[str, dict[str, Any]] = {
    "native": {"impl": "native"},
    "native-crop": {"impl": "native", "crop": True},
    "native-life": {"impl": "native", "life": True},
    "upstream-crop": {"impl": "upstream", "crop": True},
}
UPSTREAM = "upstream-crop"


def child_render(spec: dict[str, Any]) -> dict[str, Any]:
    """One render of `spec["config"]` in this fresh process."""
    import lipsync_tool as lt
    from lipsync_tool.renderer import Renderer

    config = CONFIGS[spec["config"]]
    frozen = {} if config.get("life") else {"blink": False, "expression_scale": 0.0}
    options = {"crop": tuple(spec["crop"])} if config.get("crop") else {}
    start = time.perf_counter()
    renderer = Renderer(
        "wav2lip", cache_dir=spec["cache"], checkpoint=spec["checkpoint"], impl=config["impl"]
    )
    built = time.perf_counter()
    request = lt.RenderRequest(
        portrait=spec["portrait"],
        audio=spec["audio"],
        output=spec["output"],
        overwrite=True,
        options=options,
        **frozen,
    )
    result = renderer.render(request)
    done = time.perf_counter()
    Path(spec["output"]).unlink()
    return {
        "construct_s": built - start,
        "render_s": done - built,
        "load_seconds": renderer.load_seconds,
        "stage_seconds": result.stage_seconds,
        "engine_seconds": result.engine_seconds,
        "frames": result.frames,
        "frame_size": list(result.frame_size),
    }


def face_crop(portrait: Path) -> list[int]:
    """The MediaPipe face box, 10 px more below (upstream's default bottom pad): X1 Y1 X2 Y2."""
    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.media.image import load_portrait

    box = FaceAnalyzer().analyze(load_portrait(portrait)).box
    return [int(box.x0), int(box.y0), int(box.x1), int(box.y1) + 10]


def figures(run: dict[str, Any]) -> dict[str, Any]:
    """Engine seconds and frames/s of one run."""
    engine_s = run["load_seconds"].get("engine", 0.0) + sum(run["engine_seconds"].values())
    whole_s = run["construct_s"] + run["render_s"]
    return {
        "engine_s": engine_s,
        "engine_fps": run["frames"] / engine_s if engine_s else None,
        "whole_s": whole_s,
        "whole_fps": run["frames"] / whole_s,
        "peak_mb": run["memory"]["together_mb"],
    }


def median_round(rounds: list[dict[str, dict[str, Any]]], config: str) -> dict[str, Any]:
    """The run of `config` with the median whole time (its own stages and memory stay together)."""
    runs = sorted((r[config] for r in rounds), key=lambda run: figures(run)["whole_s"])
    return runs[(len(runs) - 1) // 2]


def report(rounds: list[dict[str, dict[str, Any]]], configs: list[str]) -> dict[str, Any]:
    median = {config: median_round(rounds, config) for config in configs}
    shown = {config: {**figures(run), "run": run} for config, run in median.items()}
    engine_names = h.keys_in_order(run["engine_seconds"] for run in median.values())
    h.print_table(
        "Whole render per configuration (Renderer() + render(), fresh process; median round)",
        [
            "config",
            "frames",
            "whole s",
            "whole fps",
            "engine s",
            "engine fps",
            "peak MB",
            "load engine",
            *engine_names,
            "encode",
        ],
        [
            [
                c,
                s["run"]["frames"],
                s["whole_s"],
                s["whole_fps"],
                s["engine_s"],
                s["engine_fps"],
                s["peak_mb"],
                s["run"]["load_seconds"].get("engine"),
                *(s["run"]["engine_seconds"].get(n) for n in engine_names),
                s["run"]["stage_seconds"].get("encode"),
            ]
            for c, s in shown.items()
        ],
        [
            "engine s = load engine + the engine stages; peak MB = the largest summed RSS of the "
            "process tree at one moment"
        ],
    )
    ratios: dict[str, Any] = {}
    if UPSTREAM in configs:
        for config in (c for c in configs if c != UPSTREAM):
            engine = sorted(
                figures(r[UPSTREAM])["engine_s"] / figures(r[config])["engine_s"] for r in rounds
            )
            whole = sorted(
                figures(r[UPSTREAM])["whole_s"] / figures(r[config])["whole_s"] for r in rounds
            )
            middle = (len(rounds) - 1) // 2
            peak, up_peak = shown[config]["peak_mb"], shown[UPSTREAM]["peak_mb"]
            ratios[config] = {"engine": engine, "whole": whole, "peak_mb": [peak, up_peak]}
            print(
                f"{config} / upstream per round: engine x{', x'.join(f'{v:.2f}' for v in engine)} "
                f"(median x{engine[middle]:.2f}, target x{TARGET_SPEEDUP:g}: "
                f"{'met' if engine[middle] >= TARGET_SPEEDUP else 'NOT met'}); whole render "
                f"x{', x'.join(f'{v:.2f}' for v in whole)}; peak {peak:.0f} MB against {up_peak:.0f}"
            )
        print()
    return {
        "median_round": {c: {k: v for k, v in s.items() if k != "run"} for c, s in shown.items()},
        "upstream_ratios": ratios,
    }


def main() -> None:
    h.run_if_child({"render": child_render})
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="speech (default 10)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--repeats", type=int, default=1, help="rounds, configurations alternating (default 1)"
    )
    args = parser.parse_args()
    env = h.environment()
    h.print_header("bench_wav2lip: native inference against upstream inference.py", env)
    with tempfile.TemporaryDirectory(prefix="bench-wav2lip-") as temp:
        folder = Path(temp)
        portrait = h.portrait(folder, "grace_hopper")
        spec = {
            "portrait": portrait,
            "audio": h.speech_like_wav(folder / "speech.wav", args.seconds),
            "checkpoint": h.wav2lip_checkpoint(folder / "wav2lip_official_layout.pth"),
            "crop": face_crop(portrait),
            "cache": os.environ.get("LIPSYNC_CACHE_DIR", folder / "cache"),
            "output": folder / "out.mp4",
        }
        print(
            f"{args.seconds:g} s of speech, grace_hopper 512x600, crop {spec['crop']}, "
            f"checkpoint {Path(spec['checkpoint']).stat().st_size:,} bytes\n"
        )
        rounds = []
        for repeat in range(args.repeats):
            runs = {}
            for config in args.configs:
                h.log(f"round {repeat + 1}/{args.repeats}: {config}")
                run = h.run_child(__file__, "render", {**spec, "config": config})
                runs[config] = run.to_dict()
            rounds.append(runs)
    summary = report(rounds, args.configs)
    settings = {**vars(args), "portrait": "grace_hopper 512x600", "crop": spec["crop"]}
    h.emit_json(
        "bench_wav2lip", {"environment": env, "settings": settings, **summary, "rounds": rounds}
    )


if __name__ == "__main__":
    main()
