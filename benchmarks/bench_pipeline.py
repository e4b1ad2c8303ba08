"""Where a warp render's time goes, against what ffmpeg alone needs to encode the same frames.

Every run is a fresh Python process (see _harness.py), repeated --repeats times, medians shown:

* render, with upscale (1080 lines) and without, as the CLI runs it: import,
  `lt.Renderer("warp", load=False)`, and a first `render()` of S seconds of speech on
  scikit-image's astronaut (512×512), which loads the models it uses (its load_seconds); then a
  second, warm `render()` in the same process, as a server gives. The speech is real by default
  (`--speech recorded`: the two LibriVox clips of tests/data/speech, 9.3 s, so the default render
  runs its recogniser: Whisper with the [asr] extra, else PocketSphinx), or `--speech synthetic`, a
  speech-like signal of `--seconds`: the first render's `RenderResult.stage_seconds` and
  `engine_seconds`, its wall less its model loads and its real-time factor (RTF = wall ÷ S), the
  warm render's wall, the process's wall up to the end of the first render, and the peak memory
  of its process tree;
* floor: ffmpeg alone, the render's own encode command (`media.encode.frames_command`) fed the
  unmodified portrait S × fps times through the same `media.ffmpeg.FrameWriter`.

Upscale is no stage of its own (the one ffmpeg pass scales): its cost is encode(up) − encode(native).
Ratio to the floor: (render + encode stages) ÷ floor. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h

TARGET_RTF = 1.0
TARGET_OVER_FLOOR = 1.30
TARGET_PEAK_MB = 1500.0
SIZES = {"upscale": True, "native": False}


def child_render(spec: dict[str, Any]) -> dict[str, Any]:
    """One CLI-like run in this fresh process: import, `Renderer(load=False)` (as the CLI builds it),
    a first render (which loads the models it uses), then a second, warm one (as a server gives)."""
    start = time.perf_counter()
    import lipsync_tool as lt
    from lipsync_tool.renderer import Renderer

    imported = time.perf_counter()
    renderer = Renderer("warp", load=False)
    built = time.perf_counter()
    request = lt.RenderRequest(
        portrait=spec["portrait"],
        audio=spec["audio"],
        output=spec["output"],
        fps=spec["fps"],
        upscale=spec["upscale"],
        visemes=spec["visemes"],
        overwrite=True,
    )
    result = renderer.render(request)
    done = time.perf_counter()
    loads = dict(renderer.load_seconds)
    renderer.render(request)
    warm = time.perf_counter() - done
    Path(spec["output"]).unlink()
    return {
        "import_s": imported - start,
        "construct_s": built - imported,
        "load_seconds": loads,
        "render_s": done - built - sum(loads.values()),
        "first_s": done - start,
        "warm_s": warm,
        "stage_seconds": result.stage_seconds,
        "engine_seconds": result.engine_seconds,
        "frames": result.frames,
        "frame_size": list(result.frame_size),
    }


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """ffmpeg alone: the encode command fed the unmodified portrait `frames` times."""
    from lipsync_tool.media.ffmpeg import FrameWriter
    from lipsync_tool.media.image import load_portrait

    image = load_portrait(Path(spec["portrait"]))
    start = time.perf_counter()
    with FrameWriter(spec["command"], (image.shape[1], image.shape[0])) as writer:
        for _ in range(spec["frames"]):
            writer.write(image)
    seconds = time.perf_counter() - start
    Path(spec["command"][-1]).unlink()
    return {"encode_s": seconds, "frames": writer.frames_written}


def floor_command(portrait: Path, audio: Path, fps: float, upscale: bool, out: Path) -> list[str]:
    """The command a render encodes with (`frames_command`, as the Renderer builds it)."""
    from PIL import Image

    from lipsync_tool.media.encode import EncodeSettings, frames_command
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    with Image.open(portrait) as image:
        size = image.size
    settings = EncodeSettings(fps=fps, upscale=upscale, container="mp4", audio=audio)
    return frames_command(find_ffmpeg(), size, settings, out)


RECORDED = ("austen_0920.flac", "austen_0930.flac")


def recorded_speech(path: Path) -> Path:
    """The recorded clips of tests/data/speech one after the other, as one 16 kHz WAV."""
    from lipsync_tool.media.ffmpeg import find_ffmpeg, run_ffmpeg

    sources = [h.ROOT / "tests" / "data" / "speech" / name for name in RECORDED]
    inputs = [arg for source in sources for arg in ("-i", str(source))]
    graph = "".join(f"[{i}:a]" for i in range(len(sources))) + f"concat=n={len(sources)}:v=0:a=1"
    run_ffmpeg(find_ffmpeg(), [*inputs, "-filter_complex", graph, "-y", str(path)], what="concat")
    return path


def summarise(renders: list[dict[str, Any]], floors: list[dict[str, Any]], seconds: float) -> dict:
    stages = h.median_stages([r["stage_seconds"] for r in renders])
    render_s = [r["render_s"] for r in renders]
    cli = [r["process_wall_s"] - r["warm_s"] for r in renders]  # the process less its warm render
    floor_s = h.median(f["encode_s"] for f in floors)
    staged = h.median(
        r["stage_seconds"].get("render", 0) + r["stage_seconds"].get("encode", 0) for r in renders
    )
    memory = [r["memory"] for r in renders]
    return {
        "stage_seconds": stages,
        "engine_seconds": h.median_stages([r["engine_seconds"] for r in renders]),
        "load_seconds": h.median_stages([r["load_seconds"] for r in renders]),
        "render_s": h.median(render_s),
        "render_s_range": [min(render_s), max(render_s)],
        "rtf": h.median(render_s) / seconds,
        "warm_s": h.median(r["warm_s"] for r in renders),
        "warm_rtf": h.median(r["warm_s"] for r in renders) / seconds,
        "process_wall_s": h.median(cli),
        "process_rtf": h.median(cli) / seconds,
        "frames": renders[0]["frames"],
        "frame_size": renders[0]["frame_size"],
        "floor_s": floor_s,
        "floor_frames_per_s": floors[0]["frames"] / floor_s,
        "render_encode_s": staged,
        "over_floor": staged / floor_s,
        "python_peak_mb": max(m["python_mb"] or 0 for m in memory),
        "ffmpeg_peak_mb": max(m["children_mb"].get("ffmpeg", 0) for m in memory),
        "together_peak_mb": max(m["together_mb"] or 0 for m in memory),
        "floor_together_peak_mb": max(f["memory"]["together_mb"] or 0 for f in floors),
    }


def report(summary: dict[str, dict[str, Any]], seconds: float) -> None:
    stage_names = h.keys_in_order(s["stage_seconds"] for s in summary.values())
    engine_names = h.keys_in_order(s["engine_seconds"] for s in summary.values())
    encode = {label: s["stage_seconds"].get("encode", 0.0) for label, s in summary.items()}
    upscale_cost = encode["upscale"] - encode["native"]
    rows = []
    for label, s in summary.items():
        size = "x".join(map(str, s["frame_size"]))
        lo, hi = s["render_s_range"]
        rows.append(
            [
                f"{label} ({size})",
                *(s["stage_seconds"].get(n) for n in stage_names),
                s["render_s"],
                s["rtf"],
                f"{lo:.2f}-{hi:.2f}",
                s["warm_s"],
                s["warm_rtf"],
                s["process_wall_s"],
                s["process_rtf"],
            ]
        )
    h.print_table(
        f"Render, one fresh process per run (seconds, medians; {seconds:g} s of speech)",
        ["", *stage_names, "render()", "RTF", "min-max", "warm", "RTF", "process", "RTF"],
        rows,
        [
            "columns before render(): the first render's RenderResult.stage_seconds; render() = "
            "its wall less the model loads it did;",
            "warm = a second render() in the same process; process = interpreter start, imports,",
            "Renderer(load=False) as the CLI builds it, the first render() with its loads",
        ],
    )
    h.print_table(
        "Engine stages (RenderResult.engine_seconds, within prepare and render) and loads",
        ["", *engine_names, *(f"load {k}" for k in next(iter(summary.values()))["load_seconds"])],
        [
            [
                label,
                *(s["engine_seconds"].get(n) for n in engine_names),
                *s["load_seconds"].values(),
            ]
            for label, s in summary.items()
        ],
    )
    h.print_table(
        "Floor: ffmpeg alone, the same encode command fed the unmodified portrait",
        ["", "floor s", "frames/s", "render+encode s", "÷ floor"],
        [
            [label, s["floor_s"], s["floor_frames_per_s"], s["render_encode_s"], s["over_floor"]]
            for label, s in summary.items()
        ],
        [f"upscale cost: encode(upscale) - encode(native) = {upscale_cost:.2f} s"],
    )
    h.print_table(
        "Peak memory, MiB (max over repeats): python = the render process's VmHWM, ffmpeg = its "
        "encoder's, together = the largest summed RSS of the tree at one moment",
        ["", "python", "ffmpeg", "together", "floor together"],
        [
            [
                label,
                s["python_peak_mb"],
                s["ffmpeg_peak_mb"],
                s["together_peak_mb"],
                s["floor_together_peak_mb"],
            ]
            for label, s in summary.items()
        ],
        spec=".0f",
    )
    up = summary["upscale"]
    print("Targets (reported, never asserted), with upscale:")
    print(
        f"  render() <= {TARGET_RTF:g}x real time: {up['rtf']:.2f}x "
        f"({'met' if up['rtf'] <= TARGET_RTF else 'NOT met'})"
    )
    print(
        f"  (render + encode) / floor <= {TARGET_OVER_FLOOR:g}: {up['over_floor']:.2f} "
        f"({'met' if up['over_floor'] <= TARGET_OVER_FLOOR else 'NOT met'})"
    )
    print(
        f"  peak memory (together) < {TARGET_PEAK_MB:g} MiB: {up['together_peak_mb']:.0f} "
        f"({'met' if up['together_peak_mb'] < TARGET_PEAK_MB else 'NOT met'})\n"
    )


def main() -> None:
    h.run_if_child({"render": child_render, "floor": child_floor})
    from lipsync_tool.request import VISEMES_CHOICES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--speech", choices=("recorded", "synthetic"), default="recorded", help="(default recorded)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="synthetic speech's length")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--visemes", choices=VISEMES_CHOICES, default="auto")
    args = parser.parse_args()
    env = h.environment()
    h.print_header("bench_pipeline: warp render against the ffmpeg floor", env)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        k: {"render": [], "floor": []} for k in SIZES
    }
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as temp:
        folder = Path(temp)
        portrait = h.portrait(folder, "astronaut")
        if args.speech == "recorded":
            audio = recorded_speech(folder / "speech.wav")
            samples, rate = h.read_wav(audio)
            args.seconds = len(samples) / rate
        else:
            audio = h.speech_like_wav(folder / "speech.wav", args.seconds)
        frames = None
        for repeat in range(args.repeats):
            for label, upscale in SIZES.items():
                h.log(f"round {repeat + 1}/{args.repeats}: {label}")
                spec = {
                    "portrait": portrait,
                    "audio": audio,
                    "fps": args.fps,
                    "upscale": upscale,
                    "visemes": args.visemes,
                    "output": folder / f"{label}.mp4",
                }
                render = h.run_child(__file__, "render", spec).to_dict()
                frames = render["frames"]
                command = floor_command(portrait, audio, args.fps, upscale, folder / "floor.mp4")
                spec = {"portrait": portrait, "command": command, "frames": frames}
                runs[label]["render"].append(render)
                runs[label]["floor"].append(h.run_child(__file__, "floor", spec).to_dict())
    summary = {k: summarise(v["render"], v["floor"], args.seconds) for k, v in runs.items()}
    report(summary, args.seconds)
    settings = {**vars(args), "portrait": "astronaut 512x512", "engine": "warp", "frames": frames}
    h.emit_json(
        "bench_pipeline",
        {"environment": env, "settings": settings, "summary": summary, "runs": runs},
    )


if __name__ == "__main__":
    main()
