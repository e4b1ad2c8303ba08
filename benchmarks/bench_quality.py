"""Lip-sync quality of the warp engine, measured by `lt.evaluate` against eSpeak NG's true phone timings.

Renders English eSpeak speech on two real portraits (scikit-image's astronaut, matplotlib's
grace_hopper) three ways: driven by the synthesiser's own phonemes (text), by forced alignment of
the words (transcript), and by phone recognition (plain audio); a standard English passage ("The
North Wind and the Sun") from text; and German speech through the acoustic visemes. The
loudness-only baseline (the mouth following the sound's level) is measured in the same run, so the
figures can be read against it. One `lt.Renderer("warp")` renders every clip (seed 1). Clips are
evaluated as the tool writes them, at 1080 lines; --no-upscale evaluates the portraits' own size
(faster, but the H.264 coding of a small face blurs the seam of closed lips). --spread adds the
spread one clip's few intervals hide: five English sentences dense in m/b/p, each rendered with
seeds 1 and 2 (head motion and blinks differ), pooled per portrait. --portraits and --clips pick
a subset.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import _harness as h
import numpy as np

ENGLISH = "Hello, my name is Bob. We buy blue boots and warm hats. Papa made a map of the moon."
PASSAGE = (
    "The North Wind and the Sun were disputing which was the stronger, when a traveler came "
    "along wrapped in a warm cloak. They agreed that the one who first succeeded in making the "
    "traveler take his cloak off should be considered stronger than the other."
)
MORE = (
    "My mother baked a pumpkin pie, and both boys begged for more.",
    "Maybe Bill will bring some lemons by the bus stop tomorrow morning.",
    "Please pass me the bottle of milk, the bread and the plums.",
)
GERMAN = "Guten Morgen! Wir kaufen blaue Boote, und Mama malt eine Karte vom Mond."
PAD = 0.8
CLIPS = {
    "en-text": "en, text (true phonemes)",
    "en-transcript": "en, transcript (aligned)",
    "en-audio": "en, audio only (recognised)",
    "en-loudness": "en, loudness only (baseline)",
    "passage-text": "en passage, text (true phonemes)",
    "de-acoustic": "de, audio only (acoustic)",
}
PARTS = ("closure", "opening", "rounding")
TARGETS = (
    "targets: r >= 0.6, lag 0 +-1 frames, closure >= 85 %, opening >= 85 %, rounding >= 70 %, "
    "SSIM >= 0.93, jitter < 0.5 px"
)


def phone_table(phones: Any, shift: float = 0.0) -> list[dict[str, Any]]:
    return [{"phone": p.phone, "start": p.start + shift, "end": p.end + shift} for p in phones]


def padded(text: str, folder: Path, name: str, voice: str = "en-us") -> tuple[Path, list]:
    """eSpeak speech of `text` with PAD s of silence either side (for jitter in silence), and its phones."""
    speech = h.espeak_wav(folder / f"{name}_raw.wav", text, voice=voice)
    samples, rate = h.read_wav(speech.wav)
    silence = np.zeros(int(PAD * rate), np.float32)
    wav = h.write_wav(folder / f"{name}.wav", np.concatenate([silence, samples, silence]), rate)
    return wav, phone_table(speech.phones, PAD)


def spoken(text: str, folder: Path, name: str) -> tuple[Path, list]:
    """What a text request makes of `text` (the same eSpeak audio and margins), and its phones."""
    from lipsync_tool.speech_input import TEXT_MARGIN

    speech = h.espeak_wav(folder / f"{name}.wav", text, margin=TEXT_MARGIN)
    return speech.wav, phone_table(speech.phones)


def measure(video: Path, audio: Path, phones: list, portrait: Path | None) -> dict[str, Any]:
    import lipsync_tool as lt

    report = lt.evaluate(video, audio=audio, phones=phones, portrait=portrait).to_dict()
    art = report["articulation"]
    return {
        "r": report["sync"]["r"],
        "lag": report["sync"]["lag_subframe"],
        **{p: art[p]["passed"] / art[p]["total"] if art[p]["total"] else None for p in PARTS},
        "counts": {p: [art[p]["passed"], art[p]["total"]] for p in PARTS},
        "ssim": report["identity"]["ssim_outside_blinks"],
        "jitter_px": report["stability"]["jitter_px"],
    }


def render(renderer: Any, portrait: Path, out: Path, audio: Path | None, **fields: Any) -> Path:
    import lipsync_tool as lt

    request = lt.RenderRequest(portrait=portrait, audio=audio, output=out, overwrite=True, **fields)
    return renderer.render(request).output


def spread(renderer: Any, faces: dict[str, Path], folder: Path, upscale: bool) -> dict[str, Any]:
    """Per portrait: closure, opening and rounding pooled over five sentences x seeds 1-2, and r."""
    texts = (ENGLISH, PASSAGE, *MORE)
    clips = [spoken(text, folder, f"spread{number}") for number, text in enumerate(texts)]
    pooled: dict[str, Any] = {}
    for face, portrait in faces.items():
        counts = {part: [0, 0] for part in PARTS}
        rs = []
        for text, (wav, phones) in zip(texts, clips):
            for seed in (1, 2):
                h.log(f"spread: {face}, seed {seed}: {text[:30]}")
                out = render(
                    renderer,
                    portrait,
                    folder / "clip.mp4",
                    None,
                    text=text,
                    seed=seed,
                    upscale=upscale,
                )
                row = measure(out, wav, phones, None)
                for part in PARTS:
                    counts[part] = [a + b for a, b in zip(counts[part], row["counts"][part])]
                rs.append(row["r"])
        pooled[face] = {**counts, "r": rs}
    return pooled


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-upscale", action="store_true", help="evaluate the portraits' size")
    parser.add_argument("--spread", action="store_true", help="also five sentences x two seeds")
    parser.add_argument("--portraits", nargs="+", choices=h.PORTRAITS, default=list(h.PORTRAITS))
    parser.add_argument("--clips", nargs="+", choices=list(CLIPS), default=list(CLIPS))
    args = parser.parse_args()
    from lipsync_tool.renderer import Renderer

    env = h.environment()
    h.print_header("bench_quality: lip-sync quality of the warp engine", env)
    upscale = not args.no_upscale
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as temp:
        folder = Path(temp)
        renderer = Renderer("warp")
        en_wav, en_phones = padded(ENGLISH, folder, "en")
        de_wav, de_phones = padded(GERMAN, folder, "de", voice="de")
        runs = {  # clip: (audio, request fields, reference audio, true phones)
            "en-text": (None, {"text": ENGLISH}, *spoken(ENGLISH, folder, "en_text")),
            "en-transcript": (en_wav, {"transcript": ENGLISH}, en_wav, en_phones),
            "en-audio": (en_wav, {}, en_wav, en_phones),
            "en-loudness": (en_wav, {"visemes": "acoustic"}, en_wav, en_phones),
            "passage-text": (None, {"text": PASSAGE}, *spoken(PASSAGE, folder, "passage")),
            "de-acoustic": (de_wav, {"language": "de"}, de_wav, de_phones),
        }
        faces = {}
        for name in args.portraits:
            (folder / name).mkdir()
            faces[name] = h.portrait(folder / name, name)
        for face, portrait in faces.items():
            for clip in args.clips:
                audio, fields, reference, phones = runs[clip]
                h.log(f"{face}: {clip}")
                out = render(
                    renderer,
                    portrait,
                    folder / "clip.mp4",
                    audio,
                    seed=1,
                    upscale=upscale,
                    **fields,
                )
                results[f"{face}: {CLIPS[clip]}"] = measure(out, reference, phones, portrait)
        pooled = spread(renderer, faces, folder, upscale) if args.spread else None
    h.print_table(
        "lt.evaluate of each clip",
        ["clip", "r", "lag", "closure", "open", "round", "SSIM", "jitter"],
        [
            [
                name,
                h.fmt(v["r"]),
                h.fmt(v["lag"], "+.2f"),
                *(h.fmt(v[p], ".0%") for p in PARTS),
                h.fmt(v["ssim"], ".3f"),
                h.fmt(v["jitter_px"]),
            ]
            for name, v in results.items()
        ],
        [TARGETS],
    )
    if pooled is not None:

        def cell(counts: list[int]) -> str:
            return f"{counts[0]}/{counts[1]} {counts[0] / max(counts[1], 1):.0%}"

        h.print_table(
            "spread: five English sentences x seeds 1-2, true phonemes, pooled per portrait",
            ["portrait", "closure", "open", "round", "r median", "r min-max"],
            [
                [
                    face,
                    *(cell(v[p]) for p in PARTS),
                    h.median(v["r"]),
                    f"{min(v['r']):.2f}-{max(v['r']):.2f}",
                ]
                for face, v in pooled.items()
            ],
        )
    h.emit_json(
        "bench_quality",
        {"environment": env, "settings": vars(args), "clips": results, "spread": pooled},
    )


if __name__ == "__main__":
    main()
