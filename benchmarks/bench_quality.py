"""Lip-sync quality of the warp engine, measured by `lipsync-tool evaluate` against eSpeak NG's true phone timings.

    python benchmarks/bench_quality.py [--json out.json] [--no-upscale]

Renders English eSpeak speech on two real portraits three ways: driven by the synthesiser's own
phonemes (--text), by forced alignment of the words (--transcript), and by phone recognition
(plain audio); a standard English passage ("The North Wind and the Sun") from --text; and German
speech through the acoustic visemes. Prints the evaluate figures beside the issue's targets. The
loudness-only baseline (the mouth following the sound's level) is measured in the same run, so
the figures can be read against it. Clips are evaluated as the tool writes them, at 1080 lines;
--no-upscale evaluates the portraits' own size (faster, but the H.264 coding of a small face
blurs the seam of closed lips).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import lipsync_tool
from lipsync_tool.evaluate import evaluate_video
from lipsync_tool.speech.tts import synthesize_to_wav
from lipsync_tool.speech_input import TEXT_MARGIN

ENGLISH = "Hello, my name is Bob. We buy blue boots and warm hats. Papa made a map of the moon."
PASSAGE = ("The North Wind and the Sun were disputing which was the stronger, when a traveler came along wrapped "
           "in a warm cloak. They agreed that the one who first succeeded in making the traveler take his cloak off "
           "should be considered stronger than the other.")
GERMAN = "Guten Morgen! Wir kaufen blaue Boote, und Mama malt eine Karte vom Mond."
PAD = 0.8


def padded(wav: Path, phones: tuple, folder: Path, name: str) -> tuple[Path, Path]:
    """The speech with PAD s of silence either side (for jitter in silence), and its phones JSON."""
    from lipsync_tool.media.audio import decode_speech
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    import wave

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
    phones_json.write_text(json.dumps([{"phone": p.phone, "start": p.start, "end": p.end} for p in speech.phones]))
    return speech.wav, phones_json


def portraits(folder: Path) -> dict[str, Path]:
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    return {"grace_hopper": Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), "astronaut": folder / "astronaut.png"}


def row(video: Path, audio: Path, phones: Path, portrait: Path) -> dict:
    report = evaluate_video(video, audio=audio, phones=phones, portrait=portrait).to_dict()
    sync, art, ident, stab = report["sync"], report["articulation"], report["identity"], report["stability"]
    share = lambda part: (art[part]["passed"] / art[part]["total"]) if art[part]["total"] else float("nan")  # noqa: E731
    return {
        "r": sync["r"], "lag": sync["lag_subframe"], "closure": share("closure"), "opening": share("opening"),
        "rounding": share("rounding"), "ssim": ident["ssim_outside_blinks"], "jitter_px": stab["jitter_px"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--no-upscale", action="store_true", help="evaluate at the portraits' own size (faster)")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="lipsync-quality-") as tmp:
        folder = Path(tmp)
        en = synthesize_to_wav(ENGLISH, folder / "en_raw.wav")
        de = synthesize_to_wav(GERMAN, folder / "de_raw.wav", voice="de")
        en_wav, en_phones = padded(en.wav, en.phones, folder, "en")
        de_wav, de_phones = padded(de.wav, de.phones, folder, "de")
        runs = {
            "en, text (true phonemes)": (None, {"text": ENGLISH}, *spoken(ENGLISH, folder, "en_text")),
            "en, transcript (aligned)": (en_wav, {"transcript": ENGLISH}, en_wav, en_phones),
            "en, audio only (recognised)": (en_wav, {}, en_wav, en_phones),
            "en, loudness only (baseline)": (en_wav, {"visemes": "acoustic"}, en_wav, en_phones),
            "en passage, text (true phonemes)": (None, {"text": PASSAGE}, *spoken(PASSAGE, folder, "passage")),
            "de, audio only (acoustic)": (de_wav, {"language": "de"}, de_wav, de_phones),
        }
        for face, portrait in portraits(folder).items():
            for name, (audio, options, reference, phones) in runs.items():
                out = folder / "clip.mp4"
                lipsync_tool.render(portrait, audio, out, upscale=not args.no_upscale, seed=1, overwrite=True, **options)
                results[f"{face}: {name}"] = row(out, reference, phones, portrait)
    fmt = lambda v, spec: "   -  " if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)  # noqa: E731
    print(f"{'clip':48} {'r':>5} {'lag':>6} {'closure':>8} {'open':>6} {'round':>6} {'SSIM':>6} {'jitter':>7}")
    for name, values in results.items():
        print(f"{name:48} {fmt(values['r'], '5.2f')} {fmt(values['lag'], '+6.2f')} {fmt(values['closure'], '8.0%')} "
              f"{fmt(values['opening'], '6.0%')} {fmt(values['rounding'], '6.0%')} {fmt(values['ssim'], '6.3f')} {fmt(values['jitter_px'], '7.2f')}")
    print("targets: r >= 0.6, lag 0 +-1 frames, closure >= 85 %, opening >= 85 %, rounding >= 70 %, SSIM >= 0.93, jitter < 0.5 px")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
