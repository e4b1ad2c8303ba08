"""The gallery: lip-sync quality of the warp engine on hard versions of the package portraits, and
the same measured with another checkout's code (the "before" of a change).

Every variant of tests/portrait_variants.py (grayscale, sepia, a blue shade cast, dark, low
contrast, JPEG 25, a 90 px face, rolled ±15°, squeezed to 70 %, mirrored, the mouth already open
in the photo; the original as reference) of scikit-image's astronaut and matplotlib's
grace_hopper speaks one English sentence from eSpeak NG's own phonemes (seed 1), at the
portrait's own size (--upscale: 1080 lines, as the tool writes by default), and `lt.evaluate`
measures it against the synthesiser's phone timings, with the chroma (largest channel spread) of
the portrait and of every frame. --sheets DIR keeps a contact sheet of each render's mouth. The variant
images are made once, by this checkout, so both columns animate the same pictures.

--baseline-src DIR renders them a second time in a fresh process whose `lipsync_tool` is imported
from DIR (e.g. /work/main/src), and the table shows both, before → after.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

import _harness as h
import numpy as np

SENTENCE = "Hello, my name is Bob. We buy blue boots and warm hats."
PARTS = ("closure", "opening", "rounding")
TARGETS = "targets: closure >= 85 %, opening >= 85 %, rounding >= 70 %, lag 0 +-1, SSIM >= 0.93"


def tests_module(name: str) -> Any:
    """tests/NAME.py, loaded by path (the benchmarks are not a package of the tests)."""
    path = h.ROOT / "tests" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_inputs(folder: Path, portraits: list[str]) -> dict[str, Any]:
    """The sentence, its phones, and every variant of every portrait written as PNG."""
    from PIL import Image

    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.speech_input import TEXT_MARGIN

    pv = tests_module("portrait_variants")
    speech = h.espeak_wav(folder / "sentence.wav", SENTENCE, margin=TEXT_MARGIN)
    phones = [{"phone": p.phone, "start": p.start, "end": p.end} for p in speech.phones]
    analyzer = FaceAnalyzer()
    images: dict[str, str] = {}
    for name in portraits:
        image = np.asarray(Image.open(h.portrait(folder, name)).convert("RGB"))
        points = analyzer.analyze(image).landmarks.points
        for variant, picture in pv.gallery(image, points).items():
            path = folder / f"{name}_{variant}.png"
            Image.fromarray(picture).save(path)
            images[f"{name}: {variant}"] = str(path)
    return {"wav": str(speech.wav), "phones": phones, "images": images}


def measure_all(spec: dict[str, Any]) -> dict[str, Any]:
    """In a child process: render and evaluate every image of `spec` with this process's lipsync_tool."""
    from PIL import Image

    import lipsync_tool as lt
    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.frames import iter_frames
    from lipsync_tool.renderer import Renderer

    pv, sheets = tests_module("portrait_variants"), tests_module("contact_sheets")
    renderer, analyzer, ffmpeg = Renderer("warp"), FaceAnalyzer(), find_ffmpeg()
    moments = sheets.moments(spec["phones"])
    rows: dict[str, Any] = {}
    for key, image in spec["images"].items():
        h.log(f"{spec['label']}: {key}")
        out = Path(spec["folder"]) / f"{spec['label']}.mp4"
        request = lt.RenderRequest(
            portrait=Path(image),
            text=SENTENCE,
            output=out,
            overwrite=True,
            seed=1,
            upscale=spec["upscale"],
        )
        renderer.render(request)
        report = lt.evaluate(out, audio=spec["wav"], phones=spec["phones"], portrait=image)
        data = report.to_dict()
        own = float(pv.chroma(np.asarray(Image.open(image).convert("RGB"))).max())
        video = max(float(pv.chroma(frame).max()) for frame in iter_frames(ffmpeg, out))
        if spec["sheets"]:
            name = key.replace(": ", "_") + f"_{spec['label']}.png"
            sheet = Path(spec["sheets"]) / name
            sheets.contact_sheet(out, [t for _, t in moments], sheet, analyzer)
        art = data["articulation"]
        rows[key] = {
            **{p: [art[p]["passed"], art[p]["total"]] for p in PARTS},
            "lag": data["sync"]["lag_subframe"],
            "r": data["sync"]["r"],
            "ssim": data["identity"]["ssim_outside_blinks"],
            "chroma": [own, video],
        }
    return {"lipsync_tool": lt.__file__, "rows": rows}


def run(
    label: str,
    inputs: dict[str, Any],
    folder: Path,
    upscale: bool,
    src: str | None,
    sheets: str | None,
) -> Any:
    """`measure_all` in a fresh process, importing lipsync_tool from `src` when given."""
    spec = {**inputs, "label": label, "folder": str(folder), "upscale": upscale, "sheets": sheets}
    saved = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = src
    try:
        return h.run_child(__file__, "gallery", spec).result
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def cell(row: dict[str, Any], part: str) -> str:
    passed, total = row[part]
    return f"{passed}/{total}" if total else "-"


def main() -> None:
    h.run_if_child({"gallery": measure_all})
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline-src", help="a checkout's src/ to measure as 'before'")
    parser.add_argument("--upscale", action="store_true", help="render 1080 lines (slower)")
    parser.add_argument("--sheets", help="a folder for each render's contact sheet (PNG)")
    parser.add_argument("--portraits", nargs="+", choices=h.PORTRAITS, default=list(h.PORTRAITS))
    args = parser.parse_args()
    env = h.environment()
    h.print_header("bench_gallery: the warp engine on hard portraits", env)
    with tempfile.TemporaryDirectory(prefix="bench-gallery-") as temp:
        folder = Path(temp)
        inputs = make_inputs(folder, args.portraits)
        if args.sheets:
            Path(args.sheets).mkdir(parents=True, exist_ok=True)
        after = run("after", inputs, folder, args.upscale, None, args.sheets)
        before = (
            run("before", inputs, folder, args.upscale, args.baseline_src, args.sheets)
            if args.baseline_src
            else None
        )

    def pair(key: str, show: Any) -> str:
        now = show(after["rows"][key])
        return f"{show(before['rows'][key])} -> {now}" if before else now

    h.print_table(
        "lt.evaluate of each variant" + (" (before -> after)" if before else ""),
        ["variant", "closure", "open", "round", "lag", "SSIM", "chroma"],
        [
            [
                key,
                *(pair(key, lambda row, p=p: cell(row, p)) for p in PARTS),
                pair(key, lambda row: f"{row['lag']:+.2f}"),
                pair(key, lambda row: f"{row['ssim']:.3f}"),
                pair(key, lambda row: "{:.0f}/{:.0f}".format(*row["chroma"])),
            ]
            for key in after["rows"]
        ],
        [
            TARGETS,
            "chroma: the portrait's largest max-min channel spread / the video's (every frame)",
        ],
    )
    h.emit_json(
        "bench_gallery",
        {
            "environment": env,
            "settings": vars(args),
            "sentence": SENTENCE,
            "after": after,
            "before": before,
        },
    )


if __name__ == "__main__":
    main()
