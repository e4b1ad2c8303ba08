"""Make the contact sheets shown in the README: every viseme of the warp engine on two real portraits,
a blink, and frames of a real render.

    python docs/make_figures.py            # writes docs/visemes.png, docs/blink.png and docs/speech.png
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from lipsync_tool.engine.warp.mouth_warp import MouthWarp
from lipsync_tool.face.analyzer import FaceAnalyzer
from lipsync_tool.life.eyes import EyeBlinker
from lipsync_tool.speech.visemes import VISEME_POSES

TILE = 200
SENTENCE = "Hello, my name is Bob. We buy blue boots and warm hats."
SPEECH_PHONES = (
    "m",
    "ey",
    "b",
    "aa",
    "ay",
    "uw",
    "w",
    "ae",
)  # the first of each, shown in the order spoken


def portraits() -> dict[str, np.ndarray]:
    """The two portraits that ship in installed packages."""
    import matplotlib.cbook
    import skimage.data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        hopper = np.asarray(Image.open(handle).convert("RGB"))
    return {"astronaut": skimage.data.astronaut(), "grace_hopper": hopper}


def label(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.rectangle(out, (0, out.shape[0] - 22), (out.shape[1], out.shape[0]), (0, 0, 0), -1)
    cv2.putText(
        out,
        text,
        (6, out.shape[0] - 6),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return out


def crop_tile(
    frame: np.ndarray, centre: np.ndarray, half: float, aspect: float = 0.8
) -> np.ndarray:
    x0, x1 = int(centre[0] - half), int(centre[0] + half)
    y0, y1 = int(centre[1] - half * aspect), int(centre[1] + half * aspect)
    crop = frame[max(y0, 0) : y1, max(x0, 0) : x1]
    return cv2.resize(
        crop,
        (TILE, int(TILE * aspect)),
        interpolation=cv2.INTER_AREA if crop.shape[1] > TILE else cv2.INTER_CUBIC,
    )


def viseme_sheet(analyzer: FaceAnalyzer) -> np.ndarray:
    rows = []
    for image in portraits().values():
        points = analyzer.analyze(image).landmarks.points[:, :2]
        warp = MouthWarp(image, points)
        centre = points[[13, 14]].mean(axis=0) - warp.face.down * 0.05 * warp.face.height
        tiles = []
        for viseme, pose in VISEME_POSES.items():
            frame = warp.frame(
                pose.open * (1 - pose.close), pose.width, pose.close, pose.tuck, pose.tongue
            )
            tiles.append(label(crop_tile(frame, centre, 0.3 * warp.face.height), viseme.value))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def blink_sheet(analyzer: FaceAnalyzer) -> np.ndarray:
    rows = []
    for image in portraits().values():
        points = analyzer.analyze(image).landmarks.points[:, :2]
        blinker = EyeBlinker(image.shape, points)
        eyes = points[[33, 263]].mean(axis=0)
        half = 0.9 * float(np.linalg.norm(points[263] - points[33]))
        tiles = [
            label(crop_tile(blinker.apply(image, a), eyes, half, 0.45), f"blink {a:.2f}")
            for a in (0.0, 0.5, 1.0)
        ]
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def speech_sheet(analyzer: FaceAnalyzer) -> np.ndarray:
    """Frames of `lipsync-tool PORTRAIT OUT --text SENTENCE` as the tool renders them (no upscale), each in
    the middle of one of SPEECH_PHONES, head motion and all."""
    import lipsync_tool
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.frames import iter_frames
    from lipsync_tool.speech.tts import synthesize_to_wav
    from lipsync_tool.speech_input import TEXT_MARGIN

    rows = []
    with tempfile.TemporaryDirectory(prefix="lipsync-figures-") as tmp:
        folder = Path(tmp)
        phones = synthesize_to_wav(SENTENCE, folder / "speech.wav", margin=TEXT_MARGIN).phones
        moments = sorted(
            (next(p for p in phones if p.phone == name) for name in SPEECH_PHONES),
            key=lambda p: p.start,
        )
        for number, image in enumerate(portraits().values()):
            source, video = folder / f"portrait{number}.png", folder / f"clip{number}.mp4"
            Image.fromarray(image).save(source)
            lipsync_tool.render(source, None, video, text=SENTENCE, seed=1, upscale=False)
            frames = list(iter_frames(find_ffmpeg(), video))
            points = analyzer.analyze(image).landmarks.points[:, :2]
            face_height = float(np.linalg.norm(points[152] - points[10]))
            centre, half = (
                points[[13, 14]].mean(axis=0) - (0, 0.05 * face_height),
                0.3 * face_height,
            )
            tiles = []
            for phone in moments:
                index = min(int((phone.start + phone.end) / 2 * 25), len(frames) - 1)
                tiles.append(
                    label(
                        crop_tile(frames[index], centre, half),
                        f"/{phone.phone}/ {(phone.start + phone.end) / 2:.2f} s",
                    )
                )
            rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    analyzer = FaceAnalyzer()
    Image.fromarray(viseme_sheet(analyzer)).save(args.out / "visemes.png", optimize=True)
    Image.fromarray(blink_sheet(analyzer)).save(args.out / "blink.png", optimize=True)
    Image.fromarray(speech_sheet(analyzer)).save(args.out / "speech.png", optimize=True)
    print(
        f"wrote {args.out / 'visemes.png'}, {args.out / 'blink.png'} and {args.out / 'speech.png'}"
    )


if __name__ == "__main__":
    main()
