"""Speech without a transcript: PocketSphinx phone recognition (before) against Whisper + alignment (after).

Five English eSpeak NG sentences dense in m/b/p (those of bench_quality's --spread), as audio with
0.8 s of silence either side, are analysed both ways by one `SpeechAnalyzer`; then each is rendered
by the warp engine (one portrait, 1080 lines, seed 1) and `lt.evaluate` scores bilabial closure
against eSpeak's true phone timings, per clip and pooled. "hit" is the recogniser's own share: true
bilabials whose frame window (25 fps) holds a recognised m/b/p. The cost is the whole recogniser
step (Whisper's transcription plus the alignment of its words, or the phone loop), wall time and
process CPU time over audio duration, measured in the same run for both; the real recordings in
tests/data/speech are timed too (no true phones there: words heard against the transcript).
--no-render skips the renders.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h
import bench_quality as q
import numpy as np

TEXTS = (q.ENGLISH, q.PASSAGE, *q.MORE)
RECOGNISERS = ("pocketsphinx", "whisper")
BILABIALS = ("m", "b", "p")
FPS = 25
REAL = h.ROOT / "tests" / "data" / "speech"
REAL_TEXT = {
    "austen_0920": "had he married a more a amiable woman he might have been made still more "
    "respectable than he was",
    "austen_0930": "he might even have been made amiable himself",
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(function: Any, repeats: int) -> tuple[Any, float, float]:
    """The result of the last call, and the shortest wall and CPU time of `repeats` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(cpu_seconds() - cpu)
    return result, min(walls), min(cpus)


def hits(found: list[Any], truth: list[dict[str, Any]]) -> tuple[int, int]:
    """(true bilabials whose frame window holds a recognised bilabial, true bilabials)."""
    from lipsync_tool.evaluation.metrics import frame_window

    n_frames = int(max(p["end"] for p in truth) * FPS) + 2
    heard = np.zeros(n_frames, bool)
    for p in found:
        if p.phone in BILABIALS:
            heard[frame_window(p.start, p.end, FPS, n_frames)[0] : int(p.end * FPS) + 1] = True
    wanted = [p for p in truth if p["phone"].lower().rstrip("012") in BILABIALS]
    got = sum(
        bool(heard[w.start : w.stop].any())
        for w in (frame_window(p["start"], p["end"], FPS, n_frames) for p in wanted)
    )
    return got, len(wanted)


def words_heard(analyzer: Any, samples: np.ndarray) -> str:
    return " ".join(w.text for w in analyzer.transcriber("en").transcribe(samples))


def analyse(analyzer: Any, name: str, samples: np.ndarray, repeats: int) -> dict[str, Any]:
    """Both recognisers on one clip: phones, cost."""
    from lipsync_tool.media.audio import SpeechAudio

    speech = SpeechAudio(samples, h.SPEECH_RATE, None)  # type: ignore[arg-type]
    duration = len(samples) / h.SPEECH_RATE
    row: dict[str, Any] = {"seconds": duration}
    for asr in RECOGNISERS:
        h.log(f"{name}: {asr}")
        (found, method), wall, cpu = timed(
            lambda asr=asr: analyzer.phones(speech, None, asr=asr), repeats
        )
        row[asr] = {
            "method": method,
            "phones": found,
            "rtf": wall / duration,
            "cpu": cpu / duration,
        }
    row["heard"] = words_heard(analyzer, samples)
    return row


def render_closure(
    renderer: Any, portrait: Path, folder: Path, wav: Path, truth: list, asr: str
) -> list[int]:
    out = q.render(renderer, portrait, folder / "clip.mp4", wav, seed=1, asr=asr)
    return q.measure(out, wav, truth, portrait)["counts"]["closure"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-render", action="store_true", help="recogniser figures only")
    parser.add_argument("--portrait", choices=h.PORTRAITS, default="grace_hopper")
    parser.add_argument("--repeats", type=int, default=2, help="timing repeats (shortest kept)")
    args = parser.parse_args()
    from lipsync_tool.media.audio import decode_speech
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.speech.track import SpeechAnalyzer

    env = h.environment()
    h.print_header("bench_asr: PocketSphinx phone recognition against Whisper + alignment", env)
    analyzer = SpeechAnalyzer()
    analyzer.load("whisper")
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as temp:
        folder = Path(temp)
        clips = {f"en{i}": q.padded(text, folder, f"en{i}") for i, text in enumerate(TEXTS)}
        for name, (wav, truth) in clips.items():
            samples = decode_speech(find_ffmpeg(), wav, max_duration=600).samples
            rows[name] = analyse(analyzer, name, samples, args.repeats)
            for asr in RECOGNISERS:
                rows[name][asr]["hit"] = hits(rows[name][asr]["phones"], truth)
        for name in REAL_TEXT:
            speech = decode_speech(find_ffmpeg(), REAL / f"{name}.flac", max_duration=600)
            rows[name] = analyse(analyzer, name, speech.samples, args.repeats)
        if not args.no_render:
            from lipsync_tool.renderer import Renderer

            renderer = Renderer("warp")
            portrait = h.portrait(folder, args.portrait)
            for name, (wav, truth) in clips.items():
                for asr in RECOGNISERS:
                    h.log(f"{name}: render with {asr}")
                    rows[name][asr]["closure"] = render_closure(
                        renderer, portrait, folder, wav, truth, asr
                    )
    report(rows, args)


def share(counts: list[int] | tuple[int, int] | None) -> str:
    if not counts:
        return "-"
    return f"{counts[0]}/{counts[1]} {counts[0] / max(counts[1], 1):.0%}"


def pooled(rows: dict[str, dict[str, Any]], asr: str, key: str) -> list[int] | None:
    counts = [r[asr][key] for r in rows.values() if key in r[asr]]
    return [sum(c[0] for c in counts), sum(c[1] for c in counts)] if counts else None


def report(rows: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    table = []
    for name, r in rows.items():
        ps, wh = r["pocketsphinx"], r["whisper"]
        table.append(
            [
                name,
                h.fmt(r["seconds"], ".1f"),
                share(ps.get("closure")),
                share(wh.get("closure")),
                share(ps.get("hit")),
                share(wh.get("hit")),
                f"{ps['rtf']:.3f} / {ps['cpu']:.3f}",
                f"{wh['rtf']:.3f} / {wh['cpu']:.3f}",
                wh["method"],
            ]
        )
    table.append(
        [
            "pooled (eSpeak)",
            "",
            *(share(pooled(rows, a, "closure")) for a in RECOGNISERS),
            *(share(pooled(rows, a, "hit")) for a in RECOGNISERS),
            *(
                f"{np.mean([r[a]['rtf'] for r in rows.values()]):.3f} / "
                f"{np.mean([r[a]['cpu'] for r in rows.values()]):.3f}"
                for a in RECOGNISERS
            ),
            "",
        ]
    )
    h.print_table(
        f"closure (rendered, {args.portrait}, 1080 lines) and recogniser cost",
        [
            "clip",
            "s",
            "closure before",
            "closure after",
            "hit before",
            "hit after",
            "RTF before (wall / CPU)",
            "RTF after (wall / CPU)",
            "after: method",
        ],
        table,
        ["before: PocketSphinx phone loop; after: Whisper tiny.en int8 + PocketSphinx alignment"],
    )
    truth = {f"en{i}": t for i, t in enumerate(TEXTS)} | REAL_TEXT
    h.print_table(
        "words Whisper heard",
        ["clip", "heard", "spoken"],
        [[name, r["heard"], truth[name]] for name, r in rows.items()],
    )
    for r in rows.values():
        for asr in RECOGNISERS:
            r[asr].pop("phones")
    h.emit_json(
        "bench_asr", {"environment": h.environment(), "settings": vars(args), "clips": rows}
    )


if __name__ == "__main__":
    main()
