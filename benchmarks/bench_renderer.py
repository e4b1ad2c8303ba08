"""The per-request overhead of a fresh Renderer against a warm one, for warp and native wav2lip.

Request A: scikit-image's astronaut speaking S seconds (default 3) of speech-like sound, seed 1.
Request B (the warm-up): matplotlib's grace_hopper, other speech (S + 0.5 s, another seed), seed 2.
Both keep the portrait's own size (no upscale, unless --upscale), so the overhead stays visible.

* fresh: in a fresh Python process, `Renderer(engine, **settings)` (its models load) and one
  render of A, timed together; `Renderer.load_seconds` gives the loads. --repeats processes.
* warm: in one process, the Renderer built once, B rendered, then A rendered --repeats times,
  each timed; `load_seconds` is read again after them to show that nothing reloaded.

Per engine: fresh seconds (median), warm seconds (median), overhead = fresh − warm, ratio
fresh ÷ warm, and the loads. wav2lip runs natively with a checkpoint of the official layout and
seeded random weights, written to a temporary folder (same network, same cost as the real file).
Every output's sha256 is kept: warm and fresh renders of A should be identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h

ENGINES = ("warp", "wav2lip")


def _request(spec: dict[str, Any], which: str) -> Any:
    import lipsync_tool as lt

    inputs = spec[which]
    return lt.RenderRequest(
        portrait=inputs["portrait"],
        audio=inputs["audio"],
        output=inputs["output"],
        seed=inputs["seed"],
        upscale=spec["upscale"],
        overwrite=True,
    )


def _render(renderer: Any, request: Any) -> dict[str, Any]:
    start = time.perf_counter()
    result = renderer.render(request)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(result.output.read_bytes()).hexdigest()
    result.output.unlink()
    return {
        "seconds": seconds,
        "stage_seconds": result.stage_seconds,
        "engine_seconds": result.engine_seconds,
        "frames": result.frames,
        "sha256": digest,
    }


def child_fresh(spec: dict[str, Any]) -> dict[str, Any]:
    """Construct the Renderer and render A once; both timed together."""
    start = time.perf_counter()
    from lipsync_tool.renderer import Renderer

    imported = time.perf_counter()
    request = _request(spec, "a")
    built = time.perf_counter()
    renderer = Renderer(spec["engine"], **spec["settings"])
    construct = time.perf_counter() - built
    first = _render(renderer, request)
    return {
        "import_s": imported - start,
        "construct_s": construct,
        "total_s": construct + first["seconds"],
        "load_seconds": dict(renderer.load_seconds),
        "render": first,
    }


def child_warm(spec: dict[str, Any]) -> dict[str, Any]:
    """Construct once, render B, then A `count` times, each timed."""
    from lipsync_tool.renderer import Renderer

    start = time.perf_counter()
    renderer = Renderer(spec["engine"], **spec["settings"])
    construct = time.perf_counter() - start
    loads = dict(renderer.load_seconds)
    warmup = _render(renderer, _request(spec, "b"))
    request = _request(spec, "a")
    renders = [_render(renderer, request) for _ in range(spec["count"])]
    return {
        "construct_s": construct,
        "load_seconds": loads,
        "reloaded": renderer.load_seconds != loads,
        "warmup": warmup,
        "renders": renders,
    }


def summarise(fresh: list[dict[str, Any]], warm: dict[str, Any]) -> dict[str, Any]:
    fresh_s = h.median(r["total_s"] for r in fresh)
    warm_runs = warm["renders"]
    warm_s = h.median(r["seconds"] for r in warm_runs)
    hashes = {r["render"]["sha256"] for r in fresh} | {r["sha256"] for r in warm_runs}
    return {
        "fresh_s": fresh_s,
        "fresh_s_range": [min(r["total_s"] for r in fresh), max(r["total_s"] for r in fresh)],
        "construct_s": h.median(r["construct_s"] for r in fresh),
        "first_render_s": h.median(r["render"]["seconds"] for r in fresh),
        "warm_s": warm_s,
        "warm_s_range": [
            min(r["seconds"] for r in warm_runs),
            max(r["seconds"] for r in warm_runs),
        ],
        "overhead_s": fresh_s - warm_s,
        "ratio": fresh_s / warm_s,
        "load_seconds": h.median_stages([r["load_seconds"] for r in fresh]),
        "import_s": h.median(r["import_s"] for r in fresh),
        "process_wall_s": h.median(r["process_wall_s"] for r in fresh),
        "warmup_s": warm["warmup"]["seconds"],
        "reloaded_when_warm": warm["reloaded"],
        "identical_outputs": len(hashes) == 1,
        "frames": warm_runs[0]["frames"],
        "fresh_stages": h.median_stages([r["render"]["stage_seconds"] for r in fresh]),
        "warm_stages": h.median_stages([r["stage_seconds"] for r in warm_runs]),
        "fresh_engine_stages": h.median_stages([r["render"]["engine_seconds"] for r in fresh]),
        "warm_engine_stages": h.median_stages([r["engine_seconds"] for r in warm_runs]),
        "fresh_peak_mb": max(r["memory"]["together_mb"] or 0 for r in fresh),
    }


def report(summary: dict[str, dict[str, Any]], seconds: float, repeats: int) -> None:
    load_names = h.keys_in_order(s["load_seconds"] for s in summary.values())
    h.print_table(
        f"Fresh against warm Renderer, request A ({seconds:g} s of speech), seconds; "
        f"medians of {repeats}",
        [
            "engine",
            "fresh",
            "= construct",
            "+ render",
            "warm",
            "overhead",
            "fresh÷warm",
            *(f"load {n}" for n in load_names),
        ],
        [
            [
                name,
                s["fresh_s"],
                s["construct_s"],
                s["first_render_s"],
                s["warm_s"],
                s["overhead_s"],
                s["ratio"],
                *(s["load_seconds"].get(n) for n in load_names),
            ]
            for name, s in summary.items()
        ],
        [
            "fresh = Renderer() + the first render of A in a new process (imports not counted: "
            + ", ".join(f"{n} {s['import_s']:.2f} s" for n, s in summary.items())
            + ")",
            "warm = a render of A by a Renderer that already rendered B; overhead = fresh - warm",
            "warm min-max: "
            + ", ".join(
                f"{n} {s['warm_s_range'][0]:.2f}-{s['warm_s_range'][1]:.2f}"
                for n, s in summary.items()
            ),
            "reloaded on warm renders: "
            + ", ".join(
                f"{n} {'YES' if s['reloaded_when_warm'] else 'no'}" for n, s in summary.items()
            ),
            "warm and fresh outputs of A byte-identical: "
            + ", ".join(
                f"{n} {'yes' if s['identical_outputs'] else 'NO'}" for n, s in summary.items()
            ),
        ],
    )
    for name, s in summary.items():
        stages = h.keys_in_order([s["fresh_stages"], s["warm_stages"]])
        engine = h.keys_in_order([s["fresh_engine_stages"], s["warm_engine_stages"]])
        h.print_table(
            f"{name}: RenderResult.stage_seconds | engine_seconds of A, first render against warm",
            ["", *stages, "|", *engine],
            [
                [
                    label,
                    *(s[f"{key}_stages"].get(n) for n in stages),
                    "|",
                    *(s[f"{key}_engine_stages"].get(n) for n in engine),
                ]
                for label, key in (("fresh, first", "fresh"), ("warm", "warm"))
            ],
        )


def main() -> None:
    h.run_if_child({"fresh": child_fresh, "warm": child_warm})
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="speech of A (default 3)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh processes, and warm renders of A (default 3)"
    )
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--upscale", action="store_true", help="scale to 1080 lines")
    args = parser.parse_args()
    env = h.environment()
    h.print_header(
        "bench_renderer: per-request overhead of a fresh Renderer against a warm one", env
    )
    summary, runs = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-renderer-") as temp:
        folder = Path(temp)
        spec: dict[str, Any] = {"upscale": args.upscale, "count": args.repeats}
        for which, name, length, seed in (
            ("a", "astronaut", args.seconds, 1),
            ("b", "grace_hopper", args.seconds + 0.5, 2),
        ):
            (folder / which).mkdir()
            spec[which] = {
                "portrait": h.portrait(folder / which, name),
                "audio": h.speech_like_wav(folder / which / "speech.wav", length, seed),
                "output": folder / which / "out.mp4",
                "seed": seed,
            }
        for engine in args.engines:
            settings = {}
            if engine == "wav2lip":
                checkpoint = h.wav2lip_checkpoint(folder / "wav2lip_random.pth")
                settings = {"checkpoint": str(checkpoint), "impl": "native"}
            engine_spec = {**spec, "engine": engine, "settings": settings}
            fresh = []
            for repeat in range(args.repeats):
                h.log(f"{engine}: fresh {repeat + 1}/{args.repeats}")
                fresh.append(h.run_child(__file__, "fresh", engine_spec).to_dict())
            h.log(f"{engine}: warm, B then A x{args.repeats}")
            warm = h.run_child(__file__, "warm", engine_spec).to_dict()
            runs[engine] = {"fresh": fresh, "warm": warm}
            summary[engine] = summarise(fresh, warm)
    report(summary, args.seconds, args.repeats)
    h.emit_json(
        "bench_renderer",
        {"environment": env, "settings": vars(args), "summary": summary, "runs": runs},
    )


if __name__ == "__main__":
    main()
