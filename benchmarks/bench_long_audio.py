"""Long audio: wall time and peak memory of a 10-minute warp render against a 10-second one, same
machine, same invocation.

The speech is eSpeak NG English (three sentences, each followed by 0.5 s of silence) repeated to
length; the portrait scikit-image's astronaut. Each render is a fresh Python process (see
_harness.py) running `Renderer("warp")` and one `render()` (max_duration raised to fit); its peak
memory is its own VmHWM, read before it exits, and its ffmpeg encoder's, sampled from /proc.
The ratio long ÷ short of python + ffmpeg peaks is reported against the target ≤ 1.2.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h

SENTENCES = (
    "Hello, my name is Bob. We buy blue boots and warm hats for the winter.",
    "Papa made a map of the moon, and the children pinned it to the wall.",
    "Five wizards quietly boxed while the lazy dog slept by the open fire.",
)
SHORT_SECONDS = 10.0
TARGET_RATIO = 1.2


def child_render(spec: dict[str, Any]) -> dict[str, Any]:
    import lipsync_tool as lt
    from lipsync_tool.renderer import Renderer

    renderer = Renderer("warp")
    request = lt.RenderRequest(
        portrait=spec["portrait"],
        audio=spec["audio"],
        output=spec["output"],
        upscale=spec["upscale"],
        max_duration=spec["seconds"] + 60,
        overwrite=True,
    )
    start = time.perf_counter()
    result = renderer.render(request)
    seconds = time.perf_counter() - start
    Path(spec["output"]).unlink()
    return {
        "render_s": seconds,
        "stage_seconds": result.stage_seconds,
        "engine_seconds": result.engine_seconds,
        "frames": result.frames,
        "load_seconds": renderer.load_seconds,
    }


def main() -> None:
    h.run_if_child({"render": child_render})
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="the long clip (default 10)")
    parser.add_argument("--no-upscale", action="store_true", help="keep the portrait's size")
    args = parser.parse_args()
    env = h.environment()
    h.print_header("bench_long_audio: a long warp render against a short one", env)
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-long-") as temp:
        folder = Path(temp)
        portrait = h.portrait(folder, "astronaut")
        for seconds in (SHORT_SECONDS, args.minutes * 60):
            audio = h.espeak_long_wav(folder / f"speech_{seconds:g}.wav", seconds, SENTENCES)
            h.log(f"rendering {seconds:g} s")
            spec = {
                "portrait": portrait,
                "audio": audio,
                "output": folder / "out.mp4",
                "upscale": not args.no_upscale,
                "seconds": seconds,
            }
            rows[f"{seconds:g} s"] = {
                "seconds": seconds,
                **h.run_child(__file__, "render", spec).to_dict(),
            }
    stage_names = h.keys_in_order(r["stage_seconds"] for r in rows.values())
    peaks = {}
    for name, row in rows.items():
        memory = row["memory"]
        peaks[name] = (memory["python_mb"] or 0) + memory["children_mb"].get("ffmpeg", 0)
    h.print_table(
        "Render of each clip, fresh process (seconds; memory MiB)",
        ["clip", "render()", "x real time", "python MB", "ffmpeg MB", "together MB", *stage_names],
        [
            [
                name,
                r["render_s"],
                r["render_s"] / r["seconds"],
                r["memory"]["python_mb"],
                r["memory"]["children_mb"].get("ffmpeg"),
                r["memory"]["together_mb"],
                *(r["stage_seconds"].get(n) for n in stage_names),
            ]
            for name, r in rows.items()
        ],
        [
            "python = the render process's VmHWM; ffmpeg = its encoder's; together = the largest "
            "summed RSS of the tree at one moment"
        ],
    )
    short, long = peaks.values()
    ratio = long / short if short else None
    print(
        f"peak memory (python + ffmpeg) {args.minutes:g} min / {SHORT_SECONDS:g} s = "
        f"{h.fmt(ratio)} (target <= {TARGET_RATIO:g})\n"
    )
    h.emit_json(
        "bench_long_audio",
        {"environment": env, "settings": vars(args), "memory_ratio": ratio, "rows": rows},
    )


if __name__ == "__main__":
    main()
