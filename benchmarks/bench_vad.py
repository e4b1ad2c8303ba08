"""Voice activity: the PocketSphinx (WebRTC) VAD against Silero VAD, on real and synthetic speech.

The recordings of tests/data/speech come with their speech onset and offset (the `.lab` files of
PocketSphinx's test data, see SOURCE.md there). Each is padded with 1 s of silence on both sides,
as digital silence and under white noise at -50 and -40 dBFS; each detector's first onset and
last offset are compared with the known ones (the recording's own lead-in and tail count as
silence). Pairs of eSpeak NG sentences with a 1-s pause between them, padded the same way and
under the same noise, add the pause's two boundaries: each known onset and offset (eSpeak's
own phone timings) is compared with the nearest detected one of its kind. Both are read without padding: PocketSphinx's spans lose their PADDING, Silero runs with
`speech_pad_ms=0` and `min_silence_duration_ms=100`. "outside" is the speech a detector reports before the onset or after the offset.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import _harness as h
import numpy as np

SPANS = {"austen_0920": (0.246, 5.813), "austen_0930": (0.269, 3.037)}
PAD = 1.0
PAUSE = 1.0  # s between the two sentences of a synthetic pair
NOISE_DBFS = (None, -50.0, -40.0)
RATE = 16000
SILERO_MIN_SILENCE_MS = (
    100  # its default (2 s) holds "speech" through a 1-s tail; ours drops pauses under 60 ms
)


def pocketsphinx(samples: np.ndarray) -> list[tuple[float, float]]:
    from lipsync_tool.speech.trim import PADDING, speech_spans

    return [(a + PADDING, b - PADDING) for a, b in speech_spans(samples, RATE, method="vad")]


def silero(samples: np.ndarray) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(
        samples,
        VadOptions(speech_pad_ms=0, min_silence_duration_ms=SILERO_MIN_SILENCE_MS),
        sampling_rate=RATE,
    )
    return [(s["start"] / RATE, s["end"] / RATE) for s in found]


DETECTORS = {"pocketsphinx (WebRTC)": pocketsphinx, "silero": silero}


def sentence_pairs(folder: Path) -> dict[str, tuple[np.ndarray, list[float], list[float]]]:
    """eSpeak sentence pairs with PAUSE s between them: samples, known onsets, known offsets."""
    import bench_quality as q

    from lipsync_tool.media.audio import decode_speech
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    texts = (q.ENGLISH, q.PASSAGE, *q.MORE)
    pairs = {}
    for number in range(0, len(texts) - 1, 2):
        start, pieces, onsets, offsets, rate = PAD, [], [], [], RATE
        for text in texts[number : number + 2]:
            speech = h.espeak_wav(folder / f"pair{number}.wav", text)
            samples, rate = h.read_wav(speech.wav)
            spoken = [p for p in speech.phones if p.phone != "sil"]
            onsets.append(start + spoken[0].start)
            offsets.append(start + spoken[-1].end)
            pieces += [samples, np.zeros(int(PAUSE * rate), np.float32)]
            start += len(samples) / rate + PAUSE
        silence = np.zeros(int(PAD * rate), np.float32)
        wav = h.write_wav(
            folder / "pair.wav", np.concatenate([silence, *pieces[:-1], silence]), rate
        )
        samples = decode_speech(find_ffmpeg(), wav, max_duration=60).samples  # at RATE
        pairs[f"espeak sentences {number + 1}+{number + 2}"] = (samples, onsets, offsets)
    return pairs


def nearest_errors(
    spans: list[tuple[float, float]], onsets: list[float], offsets: list[float]
) -> list[float]:
    """Per known boundary (onsets, then offsets): the nearest detected one of its kind minus it, ms."""
    starts, ends = [a for a, _ in spans], [b for _, b in spans]
    return [
        (min(found, key=lambda t: abs(t - known)) - known) * 1000
        for known, found in [*((o, starts) for o in onsets), *((o, ends) for o in offsets)]
    ]


def noisy(
    clip: str, padded: np.ndarray, rng: np.random.Generator
) -> Iterator[tuple[str, np.ndarray]]:
    """The clip as it is and under each white-noise level of NOISE_DBFS, each with its row label."""
    for noise in NOISE_DBFS:
        x = padded.copy()
        if noise is not None:
            x += rng.normal(0, 10 ** (noise / 20), len(x)).astype(np.float32)
        yield f"{clip}, noise {noise or 'none'}", x


def outside(spans: list[tuple[float, float]], onset: float, offset: float) -> float:
    return sum(max(0.0, min(b, onset) - a) + max(0.0, b - max(a, offset)) for a, b in spans)


def main() -> None:
    from lipsync_tool.media.audio import decode_speech
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    env = h.environment()
    h.print_header("bench_vad: speech onsets and offsets on real recordings", env)
    rows, errors = [], {name: [] for name in DETECTORS}
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        for clip, (onset, offset) in SPANS.items():
            source = h.ROOT / "tests" / "data" / "speech" / f"{clip}.flac"
            speech = decode_speech(find_ffmpeg(), Path(source), max_duration=60).samples
            silence = np.zeros(int(PAD * RATE), np.float32)
            padded = np.concatenate([silence, speech, silence])
            for label, x in noisy(clip, padded, rng):
                row = [label]
                for name, detect in DETECTORS.items():
                    start = time.perf_counter()
                    spans = detect(x)
                    seconds = time.perf_counter() - start
                    if not spans:
                        row += ["none", "-", "-", "-"]
                        continue
                    d_on = (spans[0][0] - (onset + PAD)) * 1000
                    d_off = (spans[-1][1] - (offset + PAD)) * 1000
                    errors[name] += [abs(d_on), abs(d_off)]
                    out = outside(spans, onset + PAD, offset + PAD)
                    row += [f"{d_on:+.0f}", f"{d_off:+.0f}", f"{out:.2f}", f"{seconds:.2f}"]
                rows.append(row)
        pair_rows = []
        for clip, (padded, onsets, offsets) in sentence_pairs(Path(folder)).items():
            for label, x in noisy(clip, padded, rng):
                row = [label]
                for name, detect in DETECTORS.items():
                    spans = detect(x)
                    found = nearest_errors(spans, onsets, offsets) if spans else []
                    missed = [PAUSE * 1000] * (len(onsets) + len(offsets))
                    errors[name] += [abs(e) for e in found] or missed
                    row += [" ".join(f"{e:+.0f}" for e in found) or "none"]
                pair_rows.append(row)
    h.print_table(
        "sentence pairs: detected minus known boundary (ms): onset, onset, offset, offset",
        ["clip", *DETECTORS],
        pair_rows,
    )
    headers = ["clip"]
    for name in DETECTORS:
        headers += [f"{name}: onset ms", "offset ms", "outside s", "time s"]
    h.print_table(
        "detected minus known boundary (ms); speech reported outside the known span (s)",
        headers,
        rows,
        [
            f"{name}: mean |error| {np.mean(e):.0f} ms, max {np.max(e):.0f} ms over {len(e)} boundaries"
            for name, e in errors.items()
        ],
    )
    h.emit_json(
        "bench_vad",
        {
            "environment": env,
            "rows": rows,
            "pair_rows": pair_rows,
            "mean_abs_error_ms": {k: float(np.mean(v)) for k, v in errors.items()},
        },
    )


if __name__ == "__main__":
    main()
