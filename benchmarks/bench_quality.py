"""Lip-sync quality of the warp engine, measured by `lipsync-tool evaluate` against eSpeak NG's true phone timings.

    python benchmarks/bench_quality.py [--json out.json] [--no-upscale] [--spread]

Renders English eSpeak speech on two real portraits three ways: driven by the synthesiser's own
phonemes (--text), by forced alignment of the words (--transcript), and by phone recognition
(plain audio); a standard English passage ("The North Wind and the Sun") from --text; and German
speech through the acoustic visemes. Prints the evaluate figures beside the issue's targets. The
loudness-only baseline (the mouth following the sound's level) is measured in the same run, so
the figures can be read against it. Clips are evaluated as the tool writes them, at 1080 lines;
--no-upscale evaluates the portraits' own size (faster, but the H.264 coding of a small face
blurs the seam of closed lips). --spread adds the spread that one clip's few intervals hide: five
English sentences dense in m/b/p (the two above and three more), each rendered with seeds 1 and 2
(head motion and blinks differ), pooled per portrait.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import lipsync_tool
from lipsync_tool.evaluation import evaluate_video
from lipsync_tool.speech.tts import synthesize_to_wav
from lipsync_tool.speech_input import TEXT_MARGIN

ENGLISH = "Hello, my name is Bob. We buy blue boots and warm hats. Papa made a map of the moon."
PASSAGE = (
    "The North Wind and the Sun were disputing which was the stronger, when a traveler came along wrapped "
    "in a warm cloak. They agreed that the one who first succeeded in making the traveler take his cloak off "
    "should be considered stronger than the other."
)
MORE = (
    "My mother baked a pumpkin pie, and both boys begged for more.",
    "Maybe Bill will bring some lemons by the bus stop tomorrow morning.",
    "Please pass me the bottle of milk, the bread and the plums.",
)
GERMAN = "Guten Morgen! Wir kaufen blaue Boote, und Mama malt eine Karte vom Mond."
PAD = 0.8


def padded(wav: Path, phones: tuple, folder: Path, name: str) -> tuple[Path, Path]:
    """The speech with PAD s of silence either side (for jitter in silence), and its phones JSON."""
    import wave

    from lipsync_tool.media.audio import decode_speech
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    speech = decode_speech(find_ffmpeg(), wav, max_duration=120)
    silence = np.zeros(int(PAD * 16000), np.float32)
    samples = np.concatenate([silence, speech.samples, silence])
    out = folder / f"{name}.wav"
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    table = [{"phone": p.phone, "start": p.start + PAD, "end": p.end + PAD} for p in phones]
    phones_json = folder / f"{name}.phones.json"
    phones_json.write_text(json.dumps(table))
    return out, phones_json


def spoken(text: str, folder: Path, name: str) -> tuple[Path, Path]:
    """What --text makes of `text` (the same eSpeak audio and margins), and its phones JSON."""
    speech = synthesize_to_wav(text, folder / f"{name}.wav", margin=TEXT_MARGIN)
    phones_json = folder / f"{name}.phones.json"
    phones_json.write_text(
        json.dumps([{"phone": p.phone, "start": p.start, "end": p.end} for p in speech.phones])
    )
    return speech.wav, phones_json


def portraits(folder: Path) -> dict[str, Path]:
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    return {
        "grace_hopper": Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
        "astronaut": folder / "astronaut.png",
    }


def row(video: Path, audio: Path, phones: Path, portrait: Path) -> dict:
    report = evaluate_video(video, audio=audio, phones=phones, portrait=portrait).to_dict()
    sync, art, ident, stab = (
        report["sync"],
        report["articulation"],
        report["identity"],
        report["stability"],
    )
    share = lambda part: (
        (art[part]["passed"] / art[part]["total"]) if art[part]["total"] else float("nan")
    )  # noqa: E731
    return {
        "r": sync["r"],
        "lag": sync["lag_subframe"],
        "closure": share("closure"),
        "opening": share("opening"),
        "rounding": share("rounding"),
        "ssim": ident["ssim_outside_blinks"],
        "jitter_px": stab["jitter_px"],
    }


def spread(portraits: dict[str, Path], folder: Path) -> dict[str, dict]:
    """Per portrait: closure, opening and rounding pooled over five sentences x seeds 1-2, and r's range."""
    texts = (ENGLISH, PASSAGE, *MORE)
    clips = [spoken(text, folder, f"spread{number}") for number, text in enumerate(texts)]
    pooled: dict[str, dict] = {}
    for face, portrait in portraits.items():
        counts = {"closure": [0, 0], "opening": [0, 0], "rounding": [0, 0]}
        rs = []
        for text, (wav, phones) in zip(texts, clips):
            for seed in (1, 2):
                out = folder / "clip.mp4"
                lipsync_tool.render(portrait, None, out, text=text, seed=seed, overwrite=True)
                report = evaluate_video(out, audio=wav, phones=phones, portrait=None).to_dict()
                for part, count in counts.items():
                    count[0] += report["articulation"][part]["passed"]
                    count[1] += report["articulation"][part]["total"]
                rs.append(report["sync"]["r"])
        pooled[face] = {**counts, "r": rs}
    return pooled


def print_spread(pooled: dict[str, dict]) -> None:
    print(
        "\nspread: five English sentences x seeds 1-2, true phonemes, intervals pooled per portrait"
    )
    print(
        f"{'portrait':16} {'closure':>13} {'open':>13} {'round':>13} {'r median':>9} {'r min-max':>11}"
    )
    for face, values in pooled.items():
        cell = lambda part, values=values: (
            f"{values[part][0]}/{values[part][1]} {values[part][0] / max(values[part][1], 1):4.0%}"
        )  # noqa: E731
        rs = values["r"]
        print(
            f"{face:16} {cell('closure'):>13} {cell('opening'):>13} {cell('rounding'):>13} {np.median(rs):9.2f} {min(rs):5.2f}-{max(rs):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--no-upscale", action="store_true", help="evaluate at the portraits' own size (faster)"
    )
    parser.add_argument(
        "--spread", action="store_true", help="also pool five sentences x two seeds per portrait"
    )
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="lipsync-quality-") as tmp:
        folder = Path(tmp)
        en = synthesize_to_wav(ENGLISH, folder / "en_raw.wav")
        de = synthesize_to_wav(GERMAN, folder / "de_raw.wav", voice="de")
        en_wav, en_phones = padded(en.wav, en.phones, folder, "en")
        de_wav, de_phones = padded(de.wav, de.phones, folder, "de")
        runs = {
            "en, text (true phonemes)": (
                None,
                {"text": ENGLISH},
                *spoken(ENGLISH, folder, "en_text"),
            ),
            "en, transcript (aligned)": (en_wav, {"transcript": ENGLISH}, en_wav, en_phones),
            "en, audio only (recognised)": (en_wav, {}, en_wav, en_phones),
            "en, loudness only (baseline)": (en_wav, {"visemes": "acoustic"}, en_wav, en_phones),
            "en passage, text (true phonemes)": (
                None,
                {"text": PASSAGE},
                *spoken(PASSAGE, folder, "passage"),
            ),
            "de, audio only (acoustic)": (de_wav, {"language": "de"}, de_wav, de_phones),
        }
        faces = portraits(folder)
        for face, portrait in faces.items():
            for name, (audio, options, reference, phones) in runs.items():
                out = folder / "clip.mp4"
                lipsync_tool.render(
                    portrait,
                    audio,
                    out,
                    upscale=not args.no_upscale,
                    seed=1,
                    overwrite=True,
                    **options,
                )
                results[f"{face}: {name}"] = row(out, reference, phones, portrait)
        pooled = spread(faces, folder) if args.spread else None
    fmt = lambda v, spec: (
        "   -  " if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)
    )  # noqa: E731
    print(
        f"{'clip':48} {'r':>5} {'lag':>6} {'closure':>8} {'open':>6} {'round':>6} {'SSIM':>6} {'jitter':>7}"
    )
    for name, values in results.items():
        print(
            f"{name:48} {fmt(values['r'], '5.2f')} {fmt(values['lag'], '+6.2f')} {fmt(values['closure'], '8.0%')} "
            f"{fmt(values['opening'], '6.0%')} {fmt(values['rounding'], '6.0%')} {fmt(values['ssim'], '6.3f')} {fmt(values['jitter_px'], '7.2f')}"
        )
    print(
        "targets: r >= 0.6, lag 0 +-1 frames, closure >= 85 %, opening >= 85 %, rounding >= 70 %, SSIM >= 0.93, jitter < 0.5 px"
    )
    if pooled is not None:
        print_spread(pooled)
    if args.json:
        args.json.write_text(
            json.dumps({"clips": results, "spread": pooled}, indent=2, default=float)
        )


if __name__ == "__main__":
    main()
