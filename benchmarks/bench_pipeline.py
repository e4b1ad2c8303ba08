"""Benchmark the whole render of a 10 s clip at 25 fps against the time ffmpeg alone needs (the floor).

Measures, each run repeated and reported as the median:

* the full pipeline (`LipSyncPipeline.render`) with upscale (1080p) and without, one child
  process per run: seconds per stage, the real-time factor and the peak memory of Python and
  of ffmpeg;
* the floor: ffmpeg alone, with the pipeline's own encode command, fed the unmodified portrait
  as many times as the clip has frames, with and without upscale; and, to tell the engine's
  CPU time from the cost of encoding pixels that move, the same command fed the engine's own
  frames, rendered beforehand (the "content floor");
* the engine alone: the frames rendered and discarded, no ffmpeg.

Every figure is printed in seconds and as a ratio against a baseline measured in the same run;
the targets are reported, never asserted. Run `python benchmarks/bench_pipeline.py --help`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from lipsync_tool.options import VISEMES_CHOICES

SPEECH_RATE = 16000
VOICED_GAP = 0.35
"""Length of each pause between phrases, in seconds."""
PHRASE = 2.1
"""Length of each spoken phrase, in seconds."""
TARGET_RTF = 1.0
TARGET_RENDER_OVERHEAD = 1.30
TARGET_PEAK_MB = 1500.0
LATER_TARGET_FPS = 100.0


# ---------------------------------------------------------------- synthetic inputs
# The same generator as tests/conftest.py (a benchmark must not import from tests/).


def speech_like(
    duration: float, voiced: list[tuple[float, float]], rate: int = SPEECH_RATE, seed: int = 0
) -> np.ndarray:
    """A vowel-like harmonic signal with syllable-rate loudness inside `voiced` (start, end) spans, silence elsewhere."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration * rate))) / rate
    envelope = np.zeros_like(t)
    for start, end in voiced:
        inside = (t >= start) & (t < end)
        syllables = np.abs(np.sin(np.pi * 4.0 * (t[inside] - start)))
        envelope[inside] = 0.25 + 0.75 * syllables
    f0 = 140 + 25 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    formants = sum(
        np.sin(k * phase) * (1.0 / k) * (1.6 if k in (3, 4, 8) else 1.0) for k in range(1, 20)
    )
    signal = formants * envelope + rng.normal(0, 1e-4, len(t))
    return (signal / np.max(np.abs(signal)) * 0.5).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = SPEECH_RATE) -> Path:
    """Write float samples as mono 16-bit PCM WAV."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


def phrases(duration: float) -> list[tuple[float, float]]:
    """Spoken spans of PHRASE seconds separated by short pauses, from 0.2 s to 0.2 s before the end."""
    spans, start = [], 0.2
    while start < duration - 0.4:
        spans.append((start, min(start + PHRASE, duration - 0.2)))
        start += PHRASE + VOICED_GAP
    return spans


def make_inputs(folder: Path, duration: float) -> tuple[Path, Path]:
    """The astronaut portrait (512×512 PNG) and `duration` seconds of speech with pauses."""
    import skimage.data
    from PIL import Image

    portrait = folder / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(portrait)
    audio = write_wav(folder / "speech.wav", speech_like(duration, phrases(duration)))
    return portrait, audio


# ---------------------------------------------------------------- child processes


def proc_status(pid: str) -> dict[str, str]:
    """Fields of /proc/PID/status (Linux); empty when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def kib_field(status: dict[str, str], name: str) -> int:
    """A 'NNN kB' field of /proc/PID/status in bytes (0 when absent)."""
    value = status.get(name, "").split()
    return int(value[0]) * 1024 if value else 0


def child_pids() -> list[str]:
    """Process ids of this process's children (from every thread's /proc children list)."""
    pids: list[str] = []
    for task in os.listdir("/proc/self/task"):
        try:
            pids += Path(f"/proc/self/task/{task}/children").read_text().split()
        except OSError:
            continue
    return pids


class MemorySampler:
    """Samples memory while a run goes on (Linux /proc): this process's and its children's RSS.

    ru_maxrss cannot tell them apart here: on Linux a spawned process's ru_maxrss starts at its
    parent's RSS (exec records the parent's high-water mark), so RUSAGE_CHILDREN would count this
    Python process again. VmHWM, the high-water mark of a process's own memory, does not.
    """

    def __init__(self, interval: float = 0.02) -> None:
        import threading

        self.interval = interval
        self.child_peak = 0
        """Largest VmHWM seen of a child process (the encoder: ffmpeg), bytes."""
        self.together_peak = 0
        """Largest sum of VmRSS of this process and its children at one sample, bytes."""
        self.samples = 0
        self._name = proc_status("self").get("Name", "").strip()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    @staticmethod
    def available() -> bool:
        return (
            Path("/proc/self/status").exists()
            and Path(f"/proc/self/task/{os.getpid()}/children").exists()
        )

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        total = kib_field(proc_status("self"), "VmRSS")
        for pid in child_pids():
            status = proc_status(pid)
            if status.get("Name", "").strip() == self._name:
                continue  # forked but not yet exec'd: still this process's memory
            total += kib_field(status, "VmRSS")
            self.child_peak = max(self.child_peak, kib_field(status, "VmHWM"))
        self.together_peak = max(self.together_peak, total)
        self.samples += 1


def own_peak_bytes() -> int:
    """This process's own peak RSS: VmHWM where /proc has it, else ru_maxrss (then including its parent's at spawn)."""
    peak = kib_field(proc_status("self"), "VmHWM")
    if peak:
        return peak
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def cpu_seconds(who: int) -> float:
    """User + system CPU seconds of RUSAGE_SELF or RUSAGE_CHILDREN (all waited-for children, summed)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def usage_fields(sampler: MemorySampler | None) -> dict[str, Any]:
    """Peak memory and CPU time of this process and of its ffmpeg children, read at the end of a child run."""
    return {
        "python_peak_bytes": own_peak_bytes(),
        "ffmpeg_peak_bytes": sampler.child_peak if sampler else None,
        "together_peak_bytes": sampler.together_peak if sampler else None,
        "memory_samples": sampler.samples if sampler else 0,
        "python_cpu_s": cpu_seconds(resource.RUSAGE_SELF),
        "ffmpeg_cpu_s": cpu_seconds(resource.RUSAGE_CHILDREN),
    }


@contextmanager
def sampling() -> Iterator[MemorySampler | None]:
    """A running MemorySampler, or None where /proc cannot tell the processes apart."""
    if not MemorySampler.available():
        yield None
        return
    with MemorySampler() as sampler:
        yield sampler


def capture_log(name: str) -> list[str]:
    """INFO messages of logger `name`, collected into the returned list (the library attaches no handler)."""
    import logging

    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.addHandler(Collect())
    return messages


def child_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """One full render in this (fresh) process: import, construct, render; times and peak memory."""
    start = time.perf_counter()
    from lipsync_tool.pipeline import LipSyncPipeline

    from lipsync_tool import RenderOptions

    imported = time.perf_counter()
    notes = capture_log("lipsync_tool.speech.track")
    options = RenderOptions(
        fps=spec["fps"], upscale=spec["upscale"], visemes=spec["visemes"], overwrite=True
    )
    pipeline = LipSyncPipeline(options)
    constructed = time.perf_counter()
    with sampling() as sampler:
        result = pipeline.render(Path(spec["portrait"]), Path(spec["audio"]), Path(spec["output"]))
    done = time.perf_counter()
    Path(spec["output"]).unlink(missing_ok=True)
    return {
        "import_s": imported - start,
        "construct_s": constructed - imported,
        "render_call_s": done - constructed,
        "stage_seconds": result.stage_seconds,
        "frames": result.frames,
        "frame_size": list(result.frame_size),
        "render_size": list(result.render_size),
        "mouth_track": notes[-1] if notes else spec["visemes"],
        **usage_fields(sampler),
    }


def floor_frames(spec: dict[str, Any]) -> Any:
    """The frames the floor feeds: the unmodified portrait `frames` times, or the engine's frames from a raw file."""
    from lipsync_tool.media.image import load_portrait

    image = load_portrait(Path(spec["portrait"]))
    if not spec.get("frames_file"):
        return [image] * spec["frames"]
    rendered = np.fromfile(spec["frames_file"], np.uint8).reshape(-1, *image.shape)
    if len(rendered) != spec["frames"]:
        raise RuntimeError(
            f"{spec['frames_file']} holds {len(rendered)} frames, expected {spec['frames']}"
        )
    return rendered


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """ffmpeg alone: the pipeline's encode command fed ready-made frames (see `floor_frames`)."""
    from lipsync_tool.media.ffmpeg import FrameWriter

    frames = floor_frames(spec)
    size = (frames[0].shape[1], frames[0].shape[0])
    command = spec["command"]
    with sampling() as sampler:
        start = time.perf_counter()
        with FrameWriter(command, size) as writer:
            for frame in frames:
                writer.write(frame)
        seconds = time.perf_counter() - start
    Path(command[-1]).unlink(missing_ok=True)
    return {
        "encode_s": seconds,
        "frames": writer.frames_written,
        **usage_fields(sampler),
    }


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "pipeline": child_pipeline,
    "floor": child_floor,
}


def run_child(kind: str, spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run `kind` in a fresh interpreter (this script with --child); adds the process's whole wall time."""
    spec_path = folder / f"{kind}-spec.json"
    result_path = folder / f"{kind}-result.json"
    spec_path.write_text(json.dumps(spec))
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        str(spec_path),
        str(result_path),
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark child '{kind}' failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    result = json.loads(result_path.read_text())
    result["process_wall_s"] = wall
    return result


def child_main(kind: str, spec_path: str, result_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    Path(result_path).write_text(json.dumps(CHILDREN[kind](spec)))


# ---------------------------------------------------------------- in-process measurements


def floor_commands(portrait: Path, audio: Path, fps: float, folder: Path) -> dict[bool, list[str]]:
    """The pipeline's own encode command (`frames_command`, as the pipeline builds it), with and without upscale."""
    from PIL import Image

    from lipsync_tool.media.encode import EncodeSettings, frames_command
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    with Image.open(portrait) as image:
        size = image.size
    commands = {}
    for upscale in (True, False):
        settings = EncodeSettings(fps=fps, upscale=upscale, container="mp4", audio=audio)
        commands[upscale] = frames_command(
            find_ffmpeg(), size, settings, folder / f"floor-{'up' if upscale else 'native'}.mp4"
        )
    return commands


class EngineBench:
    """The pipeline's engine and a job built as `LipSyncPipeline.render` builds it, models loaded (outside any timing)."""

    def __init__(self, portrait: Path, audio: Path, options: Any, folder: Path) -> None:
        from lipsync_tool.pipeline import LipSyncPipeline

        from lipsync_tool.engine.base import EngineJob
        from lipsync_tool.media.audio import decode_speech, frame_count
        from lipsync_tool.media.image import load_portrait

        self.pipeline = LipSyncPipeline(options)
        self.engine = self.pipeline.engine
        image = load_portrait(portrait)
        speech = decode_speech(self.pipeline.ffmpeg, audio, max_duration=options.max_duration)
        count = frame_count(speech.duration, options.fps)
        self.job = EngineJob(
            portrait_path=portrait,
            portrait=image,
            face=self.pipeline.analyzer.analyze(image),
            audio_path=audio,
            speech=speech,
            frame_count=count,
            options=options,
            work_dir=folder,
            mouth=self.mouth_source(speech, options, count),
        )
        self.job.mouth.get()  # loads the phone recognizer, if the visemes use it

    def mouth_source(self, speech: Any, options: Any, count: int) -> Any:
        from lipsync_tool.engine.base import MouthTrackSource

        return MouthTrackSource(self.pipeline.speech_analyzer, speech, options, count)

    def fresh_job(self) -> Any:
        """The job with a mouth track not computed yet, as every pipeline render has."""
        import dataclasses

        job = self.job
        return dataclasses.replace(
            job, mouth=self.mouth_source(job.speech, job.options, job.frame_count)
        )


def engine_alone(bench: EngineBench) -> dict[str, Any]:
    """Speech → mouth track, `engine.render` (setup), then every frame generated and discarded; per-frame seconds kept."""
    job = bench.fresh_job()
    start = time.perf_counter()
    job.mouth.get()
    track = time.perf_counter() - start
    start = time.perf_counter()
    stream = bench.engine.render(job)
    setup = time.perf_counter() - start
    per_frame = []
    frames = iter(stream.frames)
    while True:
        t0 = time.perf_counter()
        frame = next(frames, None)
        if frame is None:
            break
        per_frame.append(time.perf_counter() - t0)
    return {
        "mouth_track_s": track,
        "setup_s": setup,
        "frames_s": float(sum(per_frame)),
        "per_frame_s": per_frame,
        "frames": len(per_frame),
    }


def save_engine_frames(engine: Any, job: Any, path: Path) -> Path:
    """Render every frame once and append it to a raw RGB file (the content floor's input)."""
    with path.open("wb") as handle:
        for frame in engine.render(job).frames:
            handle.write(np.ascontiguousarray(frame).data)
    return path


def profile_engine(engine: Any, job: Any, top: int) -> str:
    """cProfile of one engine render (mouth track, setup and frames), the `top` functions by own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in engine.render(job).frames:
        pass
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------- the runs


def run_all(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from lipsync_tool import RenderOptions

    load_before = os.getloadavg()
    portrait, audio = make_inputs(folder, args.seconds)
    commands = floor_commands(portrait, audio, args.fps, folder)
    bench = EngineBench(portrait, audio, RenderOptions(fps=args.fps, visemes=args.visemes), folder)
    job = bench.job
    frames_file = save_engine_frames(bench.engine, job, folder / "engine-frames.rgb")
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in RUN_KINDS}
    for index in range(args.repeats):
        log(f"round {index + 1}/{args.repeats}")
        for upscale, label in ((True, "up"), (False, "native")):
            spec = {
                "fps": args.fps,
                "upscale": upscale,
                "visemes": args.visemes,
                "portrait": str(portrait),
                "audio": str(audio),
                "output": str(folder / f"out-{label}.mp4"),
            }
            runs[f"pipeline_{label}"].append(run_child("pipeline", spec, folder))
            spec = {
                "portrait": str(portrait),
                "command": commands[upscale],
                "frames": job.frame_count,
            }
            runs[f"floor_{label}"].append(run_child("floor", spec, folder))
            spec["frames_file"] = str(frames_file)
            runs[f"content_floor_{label}"].append(run_child("floor", spec, folder))
        runs["engine"].append(engine_alone(bench))
    profile = (
        profile_engine(bench.engine, bench.fresh_job(), args.profile) if args.profile else None
    )
    return {
        "portrait": portrait,
        "job": job,
        "commands": commands,
        "runs": runs,
        "profile": profile,
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }


RUN_KINDS = (
    "pipeline_up",
    "pipeline_native",
    "floor_up",
    "floor_native",
    "content_floor_up",
    "content_floor_native",
    "engine",
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- summary

STAGES = ("validate", "analysis", "render", "encode", "finish")


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float]) -> list[float]:
    return [min(values), max(values)]


def peak(runs: list[dict[str, Any]], key: str) -> int | None:
    """Largest value of `key` over the runs; None where it could not be measured."""
    values = [r[key] for r in runs if r.get(key) is not None]
    return max(values) if values else None


def memory_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    python, ffmpeg = peak(runs, "python_peak_bytes"), peak(runs, "ffmpeg_peak_bytes")
    together = peak(runs, "together_peak_bytes")
    return {
        "python_peak_bytes": python,
        "ffmpeg_peak_bytes": ffmpeg,
        "sum_of_peaks_bytes": python + ffmpeg
        if python is not None and ffmpeg is not None
        else None,
        "together_peak_bytes": together,
        "python_cpu_s": median([r["python_cpu_s"] for r in runs]),
        "ffmpeg_cpu_s": median([r["ffmpeg_cpu_s"] for r in runs]),
    }


def pipeline_summary(runs: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    walls = [r["render_call_s"] for r in runs]
    process = median([r["process_wall_s"] for r in runs])
    return {
        "stage_seconds": {
            name: median([r["stage_seconds"].get(name, 0.0) for r in runs]) for name in STAGES
        },
        "unstaged_s": median([r["render_call_s"] - sum(r["stage_seconds"].values()) for r in runs]),
        "render_call_s": median(walls),
        "render_call_spread_s": spread(walls),
        "rtf": median(walls) / duration,
        "startup_s": median([r["import_s"] + r["construct_s"] for r in runs]),
        "process_wall_s": process,
        "process_rtf": process / duration,
        "render_plus_encode_s": median(
            [r["stage_seconds"]["render"] + r["stage_seconds"]["encode"] for r in runs]
        ),
        **memory_summary(runs),
        "frame_size": runs[0]["frame_size"],
        "render_size": runs[0]["render_size"],
        "frames": runs[0]["frames"],
        "mouth_track": runs[0]["mouth_track"],
    }


def floor_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["encode_s"] for r in runs]
    return {
        "encode_s": median(seconds),
        "encode_spread_s": spread(seconds),
        "frames": runs[0]["frames"],
        "frames_per_s": runs[0]["frames"] / median(seconds),
        **memory_summary(runs),
    }


def engine_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    frames_s = median([r["frames_s"] for r in runs])
    per_frame = np.concatenate([np.asarray(r["per_frame_s"]) for r in runs]) * 1000
    count = runs[0]["frames"]
    return {
        "mouth_track_s": median([r["mouth_track_s"] for r in runs]),
        "setup_s": median([r["setup_s"] for r in runs]),
        "frames_s": frames_s,
        "frames": count,
        "frames_per_s": count / frames_s if frames_s else float("inf"),
        "frame_ms_median": float(np.median(per_frame)),
        "frame_ms_p95": float(np.percentile(per_frame, 95)),
    }


def derive(p: dict[str, dict[str, Any]], key: str) -> dict[str, float]:
    """Ratios of one output size ('up' or 'native') against the floors measured in the same run."""
    pipe, floor, content = p[f"pipeline_{key}"], p[f"floor_{key}"], p[f"content_floor_{key}"]
    return {
        "overhead_vs_floor": pipe["render_plus_encode_s"] / floor["encode_s"],
        "encode_vs_floor": pipe["stage_seconds"]["encode"] / floor["encode_s"],
        "content_floor_vs_floor": content["encode_s"] / floor["encode_s"],
        "overhead_vs_content_floor": pipe["render_plus_encode_s"] / content["encode_s"],
    }


def targets(
    up: dict[str, Any], d_up: dict[str, float], engine: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    measured = (
        up["sum_of_peaks_bytes"]
        if up["sum_of_peaks_bytes"] is not None
        else up["python_peak_bytes"]
    )
    peak_mb = measured / 1e6

    def entry(value: float, target: str, met: bool) -> dict[str, Any]:
        return {"value": value, "target": target, "met": met}

    return {
        "rtf_upscale": entry(up["rtf"], f"<= {TARGET_RTF}", up["rtf"] <= TARGET_RTF),
        "rtf_upscale_cold_process": entry(
            up["process_rtf"], f"<= {TARGET_RTF}", up["process_rtf"] <= TARGET_RTF
        ),
        "render_overhead_vs_floor_upscale": entry(
            d_up["overhead_vs_floor"],
            f"<= {TARGET_RENDER_OVERHEAD}",
            d_up["overhead_vs_floor"] <= TARGET_RENDER_OVERHEAD,
        ),
        "peak_memory_mb_upscale": entry(peak_mb, f"< {TARGET_PEAK_MB}", peak_mb < TARGET_PEAK_MB),
        "engine_frames_per_s_later": entry(
            engine["frames_per_s"],
            f">= {LATER_TARGET_FPS}",
            engine["frames_per_s"] >= LATER_TARGET_FPS,
        ),
    }


def summarise(measured: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    runs = measured["runs"]
    parts: dict[str, Any] = {}
    for key in ("up", "native"):
        parts[f"pipeline_{key}"] = pipeline_summary(runs[f"pipeline_{key}"], args.seconds)
        parts[f"floor_{key}"] = floor_summary(runs[f"floor_{key}"])
        parts[f"content_floor_{key}"] = floor_summary(runs[f"content_floor_{key}"])
    parts["engine_alone"] = engine_summary(runs["engine"])
    derived = {key: derive(parts, key) for key in ("up", "native")}
    up, native = parts["pipeline_up"], parts["pipeline_native"]
    derived["upscale_cost_pipeline_s"] = (
        up["stage_seconds"]["encode"] - native["stage_seconds"]["encode"]
    )
    derived["upscale_cost_floor_s"] = (
        parts["floor_up"]["encode_s"] - parts["floor_native"]["encode_s"]
    )
    derived["engine_vs_floor_fps_native"] = (
        parts["engine_alone"]["frames_per_s"] / parts["floor_native"]["frames_per_s"]
    )
    parts["derived"] = derived
    parts["targets"] = targets(up, derived["up"], parts["engine_alone"])
    return parts


# ---------------------------------------------------------------- report


def mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1e6:.0f} MB"


def ok(flag: bool) -> str:
    return "met" if flag else "NOT met"


def environment(args: argparse.Namespace, measured: dict[str, Any]) -> dict[str, Any]:
    import lipsync_tool

    job = measured["job"]
    return {
        "lipsync_tool": lipsync_tool.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": measured["load_average"],
        "ffmpeg": measured["commands"][True][0],
        "seconds": args.seconds,
        "fps": args.fps,
        "frames": job.frame_count,
        "portrait_size": [int(job.portrait.shape[1]), int(job.portrait.shape[0])],
        "engine": "warp",
        "visemes": args.visemes,
        "repeats": args.repeats,
        "floor_command_upscale": measured["commands"][True],
        "floor_command_native": measured["commands"][False],
    }


def report_header(env: dict[str, Any]) -> list[str]:
    w, h = env["portrait_size"]
    load = env["load_average"]
    return [
        f"lipsync-tool {env['lipsync_tool']} pipeline benchmark: {env['seconds']:g} s of speech at {env['fps']:g} fps "
        f"({env['frames']} frames), portrait {w}x{h}, engine {env['engine']}, visemes {env['visemes']}, "
        f"median of {env['repeats']}",
        f"{env['machine']}, Python {env['python']}, load average (1 min) {load['before'][0]:.2f} before, "
        f"{load['after'][0]:.2f} after",
        f"ffmpeg {env['ffmpeg']}",
        *busy_warning(env),
        "",
    ]


def busy_warning(env: dict[str, Any]) -> list[str]:
    """A warning line when other work shared the CPUs (the load average counts this benchmark's own runs too)."""
    cpus = os.cpu_count() or 1
    if env["load_average"]["before"][0] < 0.5 * cpus:
        return []
    return [
        f"WARNING: the machine was busy before the benchmark started (load {env['load_average']['before'][0]:.2f} "
        f"on {cpus} CPUs): wall times are inflated and noisy; compare the CPU seconds, or rerun when idle."
    ]


def pipeline_row(label: str, p: dict[str, Any], upscale: float | None) -> str:
    st = p["stage_seconds"]
    lo, hi = p["render_call_spread_s"]
    up_col = f"{upscale:9.2f}" if upscale is not None else f"{'-':>9}"
    return (
        f"{label:27}{st['validate']:9.2f}{st['analysis']:9.2f}{st['render']:8.2f}{st['encode']:8.2f}{up_col}"
        f"{st['finish']:8.2f}{p['unstaged_s']:9.2f}{p['render_call_s']:8.2f}{p['rtf']:7.2f}   {lo:.2f}-{hi:.2f}"
    )


def report_pipeline(s: dict[str, Any]) -> list[str]:
    up, native, d = s["pipeline_up"], s["pipeline_native"], s["derived"]
    head = (
        f"{'':27}{'validate':>9}{'analysis':>9}{'render':>8}{'encode':>8}{'upscale*':>9}{'finish':>8}"
        f"{'unstaged':>9}{'wall':>8}{'RTF':>7}   wall min-max"
    )
    return [
        "Full pipeline, LipSyncPipeline.render() in a fresh process per run (seconds; wall = the render() call)",
        head,
        pipeline_row(
            f"with upscale ({up['frame_size'][0]}x{up['frame_size'][1]})",
            up,
            d["upscale_cost_pipeline_s"],
        ),
        pipeline_row(
            f"without upscale ({native['frame_size'][0]}x{native['frame_size'][1]})", native, None
        ),
        "  * upscale is not a stage of its own: it runs inside the encode pass; shown = encode(upscale) - encode(native).",
        "  unstaged = render() wall minus the sum of stage_seconds: what engine.render() does before the first frame",
        "  (speech -> mouth track, i.e. phone recognition with its model load, and the warp setup), which no stage times.",
        f"  mouth track: {up['mouth_track']}",
        f"  cold process (interpreter start, imports, LipSyncPipeline(), render()): "
        f"{up['process_wall_s']:.2f} s = {up['process_rtf']:.2f}x real time with upscale, "
        f"{native['process_wall_s']:.2f} s = {native['process_rtf']:.2f}x without",
        "",
    ]


def report_floor(s: dict[str, Any]) -> list[str]:
    d = s["derived"]
    lines = [
        "Floor: ffmpeg alone, the pipeline's own encode command (frames_command), frames ready in memory",
        f"{'':27}{'floor':>7}{'frames/s':>9}{'content floor':>14}{'pipeline':>10}{'÷ floor':>9}{'÷ content':>11}",
        f"{'':27}{'':>7}{'':>9}{'(÷ floor)':>14}{'rend+enc':>10}{'':>9}{'floor':>11}",
    ]
    for label, key in (("with upscale", "up"), ("without upscale", "native")):
        floor, content, p, r = (
            s[f"floor_{key}"],
            s[f"content_floor_{key}"],
            s[f"pipeline_{key}"],
            d[key],
        )
        lines.append(
            f"{label:27}{floor['encode_s']:7.2f}{floor['frames_per_s']:9.0f}"
            f"{content['encode_s']:7.2f} ({r['content_floor_vs_floor']:4.2f}){p['render_plus_encode_s']:10.2f}"
            f"{r['overhead_vs_floor']:9.2f}{r['overhead_vs_content_floor']:11.2f}"
        )
    lines += [
        "  floor = the unmodified portrait fed every frame; content floor = the engine's own frames, rendered beforehand,",
        "  so (content floor ÷ floor) is what moving pixels cost x264, and (pipeline ÷ content floor) what the engine",
        "  adds by its own CPU time.",
        f"  upscale cost: pipeline {d['upscale_cost_pipeline_s']:.2f} s, floor {d['upscale_cost_floor_s']:.2f} s",
        "",
    ]
    return lines


def report_engine(s: dict[str, Any]) -> list[str]:
    e, d = s["engine_alone"], s["derived"]
    return [
        "Engine alone (warp, in this process, models loaded, frames generated and discarded, no ffmpeg)",
        f"  speech -> mouth track {e['mouth_track_s']:.3f} s; engine setup {e['setup_s']:.3f} s; "
        f"{e['frames']} frames in {e['frames_s']:.3f} s = {e['frames_per_s']:.0f} frames/s",
        f"  per frame {e['frame_ms_median']:.2f} ms median, {e['frame_ms_p95']:.2f} ms p95; "
        f"{d['engine_vs_floor_fps_native']:.2f}x the floor's {s['floor_native']['frames_per_s']:.0f} frames/s "
        "without upscale",
        "",
    ]


def report_resources(s: dict[str, Any]) -> list[str]:
    lines = [
        "Peak memory (max over repeats) and CPU seconds (user + system, median) per run",
        f"{'':27}{'python':>9}{'ffmpeg':>9}{'sum':>9}{'together':>10}{'CPU python':>12}{'CPU ffmpeg':>12}",
    ]
    rows = (
        ("pipeline, upscale", "pipeline_up"),
        ("pipeline, no upscale", "pipeline_native"),
        ("floor, upscale", "floor_up"),
        ("floor, no upscale", "floor_native"),
        ("content floor, upscale", "content_floor_up"),
        ("content floor, no upscale", "content_floor_native"),
    )
    for label, key in rows:
        m = s[key]
        lines.append(
            f"{label:27}{mb(m['python_peak_bytes']):>9}{mb(m['ffmpeg_peak_bytes']):>9}"
            f"{mb(m['sum_of_peaks_bytes']):>9}"
            f"{mb(m['together_peak_bytes']):>10}{m['python_cpu_s']:12.2f}{m['ffmpeg_cpu_s']:12.2f}"
        )
    lines += [
        "  python = the run's process, its VmHWM; ffmpeg = VmHWM of its largest child (the encoder), sampled every 20 ms;",
        "  sum = the two peaks added (an upper bound); together = the largest sampled sum of their RSS at one moment.",
        "  A floor run's python holds the frames it feeds (the content floor: all of them, read from a file).",
        "  CPU ffmpeg = all of the run's ffmpeg processes (probe and audio decode included); CPU python of a pipeline",
        "  run includes interpreter start-up, imports and loading the face and speech models.",
        "",
    ]
    return lines


def report_targets(s: dict[str, Any]) -> list[str]:
    t, up = s["targets"], s["pipeline_up"]
    return [
        "Targets (reported, not asserted)",
        f"  whole run <= {TARGET_RTF:.1f}x real time, 1080p       render() {up['render_call_s']:.2f} s = "
        f"{t['rtf_upscale']['value']:.2f}x  {ok(t['rtf_upscale']['met'])}; cold process {up['process_wall_s']:.2f} s = "
        f"{t['rtf_upscale_cold_process']['value']:.2f}x  {ok(t['rtf_upscale_cold_process']['met'])}",
        f"  render adds <= {(TARGET_RENDER_OVERHEAD - 1) * 100:.0f} % to the floor, 1080p   (render+encode) ÷ floor = "
        f"{t['render_overhead_vs_floor_upscale']['value']:.2f}  {ok(t['render_overhead_vs_floor_upscale']['met'])} "
        f"(÷ content floor = {s['derived']['up']['overhead_vs_content_floor']:.2f})",
        f"  peak memory < {TARGET_PEAK_MB:.0f} MB, 1080p             python + ffmpeg peaks = "
        f"{t['peak_memory_mb_upscale']['value']:.0f} MB  {ok(t['peak_memory_mb_upscale']['met'])}",
        f"  later: engine >= {LATER_TARGET_FPS:.0f} frames/s at 512 px     "
        f"{t['engine_frames_per_s_later']['value']:.0f} frames/s  "
        f"{ok(t['engine_frames_per_s_later']['met'])}",
    ]


def report(env: dict[str, Any], s: dict[str, Any], profile: str | None) -> str:
    lines = (
        report_header(env)
        + report_pipeline(s)
        + report_floor(s)
        + report_engine(s)
        + report_resources(s)
        + report_targets(s)
    )
    if profile:
        title = (
            "cProfile of one engine render (speech -> mouth track, setup, all frames), by own time"
        )
        lines += ["", title, profile.rstrip()]
    return "\n".join(lines)


# ---------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark lipsync-tool: seconds per stage, real-time factor and peak memory of a full render "
        "with and without upscale, beside ffmpeg alone encoding the same frames (the floor).",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of each measurement; the median is reported (default 3)",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="length of the synthetic speech (default 10)"
    )
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25)")
    parser.add_argument(
        "--visemes",
        choices=VISEMES_CHOICES,
        default="auto",
        help="RenderOptions.visemes for every run (default auto, as the CLI: phone recognition for English)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write every number (raw runs included) to PATH",
    )
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=15,
        default=0,
        metavar="N",
        help="append a cProfile of one engine render, top N functions by own time (default N 15)",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "SPEC", "RESULT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def to_json(
    env: dict[str, Any], summary: dict[str, Any], measured: dict[str, Any]
) -> dict[str, Any]:
    runs = {
        k: [{kk: vv for kk, vv in r.items() if kk != "per_frame_s"} for r in v]
        for k, v in measured["runs"].items()
    }
    return {"environment": env, "summary": summary, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="lipsync-bench-") as tmp:
        measured = run_all(args, Path(tmp))
    env = environment(args, measured)
    summary = summarise(measured, args)
    print(report(env, summary, measured["profile"]))
    if args.json:
        args.json.write_text(
            json.dumps(to_json(env, summary, measured), indent=2, default=str) + "\n"
        )
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
