"""Long audio: wall time and peak memory of a 10-minute render against a 10-second one, same machine, same run.

    python benchmarks/bench_long_audio.py [--minutes 10] [--no-upscale] [--json out.json]

Each render runs in a child process; its peak memory is the child's own high-water mark
(VmHWM) plus ffmpeg's, sampled from /proc. The speech is eSpeak NG English, repeated.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np

SENTENCES = [
    "Hello, my name is Bob. We buy blue boots and warm hats for the winter.",
    "Papa made a map of the moon, and the children pinned it to the wall.",
    "Five wizards quietly boxed while the lazy dog slept by the open fire.",
]


def _rss_peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def make_speech(seconds: float, folder: Path) -> Path:
    """eSpeak NG sentences with short pauses, repeated to `seconds`, as a 16 kHz WAV."""
    from lipsync_tool.speech.espeak import EspeakSynthesizer

    synth = EspeakSynthesizer()
    pieces = []
    for sentence in SENTENCES:
        speech = synth.synthesize(sentence)
        t_new = np.arange(int(speech.duration * 16000)) / 16000
        pieces.append(
            np.interp(t_new, np.arange(len(speech.samples)) / speech.sample_rate, speech.samples)
        )
        pieces.append(np.zeros(8000))
    block = np.concatenate(pieces)
    repeats = int(np.ceil(seconds * 16000 / len(block)))
    samples = np.tile(block, repeats)[: int(seconds * 16000)]
    path = folder / f"speech_{int(seconds)}s.wav"
    import wave

    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _render(
    portrait: str, audio: str, output: str, upscale: bool, queue: multiprocessing.Queue[dict]
) -> None:
    import lipsync_tool

    start = time.perf_counter()
    result = lipsync_tool.render(portrait, audio, output, upscale=upscale, max_duration=3600)
    queue.put(
        {
            "wall": time.perf_counter() - start,
            "stages": result.stage_seconds,
            "frames": result.frames,
        }
    )


def measure(portrait: Path, audio: Path, output: Path, upscale: bool) -> dict:
    """Render in a child process; return its timings and peak memory (MB)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_render, args=(str(portrait), str(audio), str(output), upscale, queue)
    )
    process.start()
    peaks = {"python": 0, "ffmpeg": 0}
    while process.is_alive():
        peaks["python"] = max(peaks["python"], _rss_peak_kb(process.pid))
        for child in _children(process.pid):
            peaks["ffmpeg"] = max(peaks["ffmpeg"], _rss_peak_kb(child))
        time.sleep(0.05)
    process.join()
    result = queue.get(timeout=5)
    result.update({f"peak_{k}_mb": round(v / 1024, 1) for k, v in peaks.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--no-upscale", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import skimage.data
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="lipsync-long-") as tmp:
        folder = Path(tmp)
        portrait = folder / "astronaut.png"
        Image.fromarray(skimage.data.astronaut()).save(portrait)
        rows = {}
        for seconds in (10.0, args.minutes * 60):
            audio = make_speech(seconds, folder)
            rows[f"{seconds:g} s"] = measure(
                portrait, audio, folder / f"out_{int(seconds)}.mp4", not args.no_upscale
            )
            (folder / f"out_{int(seconds)}.mp4").unlink(missing_ok=True)
    short, long = rows.values()
    print(
        f"{'clip':>8} {'wall s':>8} {'x real time':>11} {'python MB':>10} {'ffmpeg MB':>10}  stages"
    )
    for name, row in rows.items():
        seconds = float(name.split()[0])
        print(
            f"{name:>8} {row['wall']:8.1f} {row['wall'] / seconds:11.2f} {row['peak_python_mb']:10.0f} {row['peak_ffmpeg_mb']:10.0f}  "
            + ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items())
        )
    ratio = (long["peak_python_mb"] + long["peak_ffmpeg_mb"]) / (
        short["peak_python_mb"] + short["peak_ffmpeg_mb"]
    )
    print(f"peak memory {args.minutes:g} min / 10 s = {ratio:.2f} (target <= 1.2)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "memory_ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
