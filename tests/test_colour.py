"""The warp engine paints the mouth in the portrait's own colours and colour balance.

Each variant of the two sample portraits (black-and-white, sepia, an orange tungsten cast, a blue shade
cast, darker skin with pale lips: see `portrait_variants`) is rendered through the API, a short sentence
dense in m/b/p, at the portrait's own size. Every frame of a black-and-white portrait is grey; the dark
parts of the mouth (cavity, seam, lip shadows) keep the hue they have in the portrait; the painted
interior is darker than the lips; and the lips still close on every bilabial. A sepia print's mouth is
checked pose by pose, straight from the warp, to the degree. A failing test leaves a
contact sheet of the clip's most open and most closed frames beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import lipsync_tool
from lipsync_tool.engine.warp.mouth_warp import MouthWarp
from lipsync_tool.evaluation import evaluate_video
from lipsync_tool.face.analyzer import FaceAnalyzer
from lipsync_tool.face.topology import LIPS_INNER, LIPS_OUTER
from lipsync_tool.media.frames import iter_frames
from lipsync_tool.speech.tts import synthesize_to_wav
from lipsync_tool.speech_input import TEXT_MARGIN

from . import portrait_variants as pv

SENTENCE = "Bob made my mom a map."  # six bilabials in about 1.5 s of speech
CODEC_SLACK = 2.0  # H.264 4:2:0 round trip: a grey frame may come back a level or two off grey
HUE_TOLERANCE = (
    10.0  # degrees the mouth's dark parts may stray beyond the hues of the portrait's mouth
)
SEPIA_MIN_CHROMA = 8.0  # a sepia pixel with less chroma has a hue blurred by its rounding to 8 bits
SEPIA_HUE_SLACK = 5.0  # degrees beyond the portrait's own worst pixel
MIN_CHROMA_FOR_HUE = 4.0  # below this mean chroma a hue is noise (a grey photo has none)
MIN_CLOSURE = 0.85  # the target, as in test_quality: one bilabial in eight may be missed
JAW_ROOM = 0.08  # face heights below the lower lip that an open jaw may reach

VARIANTS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "grayscale": lambda image, lips: pv.grayscale(image),
    "sepia": lambda image, lips: pv.sepia(image),
    "tungsten": lambda image, lips: pv.cast(image, pv.TUNGSTEN),
    "shade": lambda image, lips: pv.cast(image, pv.SHADE),
    "dark_pale": lambda image, lips: pv.desaturate(pv.darken(image, 0.25), 0.4, lips),
}
"""Each variant from the portrait and a soft mask of its lips (for the pale lips)."""


@dataclass(frozen=True)
class Portrait:
    image: np.ndarray
    points: np.ndarray

    def mask(self, loop: tuple[int, ...], blur: float = 0.0) -> np.ndarray:
        mask = np.zeros(self.image.shape[:2], np.float32)
        cv2.fillPoly(mask, [np.round(self.points[list(loop)]).astype(np.int32)], 1.0)
        return cv2.GaussianBlur(mask, (0, 0), blur) if blur else mask

    def variant(self, name: str) -> np.ndarray:
        return VARIANTS[name](self.image, self.mask(LIPS_OUTER, blur=2.0))

    def mouth_box(self) -> tuple[slice, slice]:
        """The lips and the room an open jaw needs below them."""
        lips = self.points[list(LIPS_OUTER)]
        height = float(np.ptp(self.points[:, 1]))
        (x0, y0), (x1, y1) = lips.min(axis=0), lips.max(axis=0)
        return slice(int(y0) - 2, int(y1 + JAW_ROOM * height)), slice(int(x0) - 2, int(x1) + 3)


@pytest.fixture(scope="module")
def portraits() -> dict[str, Portrait]:
    import matplotlib.cbook
    import skimage.data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        hopper = np.asarray(Image.open(handle).convert("RGB"))
    analyzer = FaceAnalyzer()
    found = {}
    for name, image in (("astronaut", skimage.data.astronaut()), ("grace_hopper", hopper)):
        points = analyzer.analyze(image).landmarks.points[:, :2].astype(np.float64)
        found[name] = Portrait(np.ascontiguousarray(image), points)
    return found


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sentence as a text request speaks it, and its true phones for `evaluate`."""
    folder = tmp_path_factory.mktemp("colour-speech")
    speech = synthesize_to_wav(SENTENCE, folder / "sentence.wav", margin=TEXT_MARGIN)
    phones = folder / "phones.json"
    phones.write_text(
        json.dumps([{"phone": p.phone, "start": p.start, "end": p.end} for p in speech.phones])
    )
    return speech.wav, phones


@dataclass(frozen=True)
class Clip:
    folder: Path
    portrait: np.ndarray
    frames: list[np.ndarray]
    video: Path


@pytest.fixture(scope="module")
def clips(
    portraits: dict[str, Portrait], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], Clip]:
    """Renders (once) a variant of a portrait speaking the sentence, at the portrait's own size."""
    made: dict[tuple[str, str], Clip] = {}

    def clip(face: str, variant: str) -> Clip:
        if (face, variant) not in made:
            folder = tmp_path_factory.mktemp(f"colour-{face}-{variant}")
            image = portraits[face].variant(variant)
            path = folder / "portrait.png"
            Image.fromarray(image).save(path)
            video = folder / "clip.mp4"
            lipsync_tool.render(path, None, video, text=SENTENCE, seed=1, upscale=False)
            frames = list(iter_frames(_ffmpeg(), video))
            made[face, variant] = Clip(folder, image, frames, video)
        return made[face, variant]

    return clip


def _ffmpeg() -> str:
    from lipsync_tool.media.ffmpeg import find_ffmpeg

    return find_ffmpeg()


def _contact_sheet(clip: Clip, box: tuple[slice, slice]) -> Path:
    """The portrait's mouth, the clip's darkest-mouthed (most open) and its most closed frame, 3x, side by side."""
    darkness = [float(np.mean(pv.luma(frame[box]))) for frame in clip.frames]
    tiles = [clip.portrait[box], clip.frames[int(np.argmin(darkness))][box]]
    tiles.append(clip.frames[int(np.argmax(darkness))][box])
    sheet = np.hstack(
        [cv2.resize(t, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC) for t in tiles]
    )
    path = clip.folder / "sheet.png"
    Image.fromarray(sheet).save(path)
    return path


def dark_hue(pixels: np.ndarray, share: float = 0.3) -> tuple[float, float]:
    """Hue (degrees) and mean chroma of the darkest `share` of the (..., 3) pixels: the cavity, the seam,
    the shadows of the lips."""
    flat = pixels.reshape(-1, 3)
    lum = pv.luma(flat)
    dark = flat[lum <= np.quantile(lum, share)]
    return pv.hue_degrees(dark), float(np.mean(pv.chroma(dark[None])))


@pytest.mark.parametrize("face", ["astronaut", "grace_hopper"])
def test_a_black_and_white_portrait_gives_a_black_and_white_video(
    face: str, clips: Callable[[str, str], Clip], portraits: dict[str, Portrait]
) -> None:
    clip = clips(face, "grayscale")
    own = float(pv.chroma(clip.portrait).max())
    worst = max(float(pv.chroma(frame).max()) for frame in clip.frames)
    sheet = _contact_sheet(clip, portraits[face].mouth_box())
    assert worst <= own + CODEC_SLACK, (
        f"chroma {worst:.0f} in the video, {own:.0f} in the portrait; {sheet}"
    )


POSES = {
    "rest": {},
    "open": {"opening": 1.0},
    "wide": {"opening": 0.6, "width": 0.8},
    "round": {"opening": 0.5, "width": -0.8},
    "tongue": {"opening": 0.5, "tongue": 1.0},
    "f/v": {"opening": 0.3, "tuck": 1.0},
    "closed": {"close": 1.0},
}


@pytest.mark.parametrize("face", ["astronaut", "grace_hopper"])
def test_a_sepia_mouth_stays_sepia(face: str, portraits: dict[str, Portrait]) -> None:
    """A sepia print has one hue: every coloured pixel of the mouth, in every pose, keeps it (no red seam,
    no pink tongue, no grey-blue teeth). The frames come straight from the warp: no codec in the way."""
    portrait = portraits[face]
    image = portrait.variant("sepia")
    box = portrait.mouth_box()
    tone = pv.hue_degrees(np.array([pv.SEPIA_TONE]) * 200)

    def worst(frame: np.ndarray) -> float:
        pixels = frame[box].reshape(-1, 3)
        coloured = pixels[pv.chroma(pixels[None])[0] >= SEPIA_MIN_CHROMA].astype(np.float32)
        y = coloured @ pv.LUMA
        hues = np.degrees(np.arctan2(coloured[:, 0] - y, coloured[:, 2] - y))
        return float(np.max(np.abs((hues - tone + 180.0) % 360.0 - 180.0)))

    own = worst(image)
    warp = MouthWarp(image, portrait.points)
    off = {
        name: round(worst(warp.frame(**{"opening": 0.0, **pose})), 1)
        for name, pose in POSES.items()
    }
    assert max(off.values()) <= own + SEPIA_HUE_SLACK, (
        f"portrait {own:.1f} deg off its tone; poses {off}"
    )


@pytest.mark.parametrize("variant", ["tungsten", "shade", "dark_pale"])
@pytest.mark.parametrize("face", ["astronaut", "grace_hopper"])
def test_the_mouth_keeps_the_portraits_colour_cast(
    face: str, variant: str, clips: Callable[[str, str], Clip], portraits: dict[str, Portrait]
) -> None:
    """In every frame the dark parts of the mouth (cavity, seam, lip shadows) take a hue between those of
    the portrait's lips and of its mouth's own shadows: the painted mouth is in the photo's cast, not
    tinted towards a fixed red."""
    portrait = portraits[face]
    clip = clips(face, variant)
    box = portrait.mouth_box()
    lips = (portrait.mask(LIPS_OUTER) > 0) & (portrait.mask(LIPS_INNER) == 0)
    lip_hue = pv.hue_degrees(np.median(clip.portrait[lips], axis=0)[None])
    shadow_hue, _ = dark_hue(clip.portrait[box])
    arc = pv.hue_difference(lip_hue, shadow_hue)
    off = []
    for index, frame in enumerate(clip.frames):
        hue, chroma = dark_hue(frame[box])
        beyond = (pv.hue_difference(hue, lip_hue) + pv.hue_difference(hue, shadow_hue) - arc) / 2
        if chroma >= MIN_CHROMA_FOR_HUE and beyond > HUE_TOLERANCE:
            off.append((index, round(hue), round(chroma)))
    sheet = _contact_sheet(clip, box)
    assert not off, (
        f"lips {lip_hue:.0f} deg, shadows {shadow_hue:.0f} deg; frames (index, hue, chroma) off: "
        f"{off[:8]}; {sheet}"
    )


@pytest.mark.parametrize("variant", ["grayscale", "sepia", "tungsten", "shade", "dark_pale"])
def test_the_painted_interior_is_darker_than_the_lips(
    variant: str, portraits: dict[str, Portrait]
) -> None:
    """Grace Hopper's closed mouth, opened: what is painted between her parted lips is darker than her lips."""
    portrait = portraits["grace_hopper"]
    image = portrait.variant(variant)
    warp = MouthWarp(image, portrait.points)
    assert not warp.interior.has_own_mouth
    frame = warp.frame(1.0)
    inside = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(warp.mouth_opening_polygon(1.0)).astype(np.int32)], 1)
    lips = (portrait.mask(LIPS_OUTER) > 0) & (portrait.mask(LIPS_INNER) == 0)
    interior = float(np.mean(pv.luma(frame[inside.astype(bool)])))
    own_lips = float(np.mean(pv.luma(image[lips])))
    assert interior < 0.8 * own_lips, f"interior {interior:.0f}, lips {own_lips:.0f}"


PALE_SMILE = (
    "the face mesh reads the astronaut's smile, redrawn closed, as slightly parted when her lips are "
    "pale on dark skin (in grey her closed lips, drawn lighter than her skin, now read as touching)"
)


@pytest.mark.parametrize(
    ("face", "variant"),
    [
        ("grace_hopper", "grayscale"),
        ("grace_hopper", "dark_pale"),
        ("grace_hopper", "tungsten"),
        ("grace_hopper", "shade"),
        ("astronaut", "grayscale"),
        pytest.param(
            "astronaut", "dark_pale", marks=pytest.mark.xfail(strict=True, reason=PALE_SMILE)
        ),
    ],
)
def test_the_lips_still_close_on_bilabials(
    face: str, variant: str, clips: Callable[[str, str], Clip], spoken: tuple[Path, Path]
) -> None:
    """`evaluate` reads the m, b and p of the sentence as closed lips, without colour to tell lips from
    skin (grey) or with little (pale lips on dark skin), and in a colour cast. A portrait that shows its
    teeth has its closed lips redrawn: without colour they are told from the skin by luminance
    (lip_layers.PALE_LIFT); pale on dark skin they still read parted (see PALE_SMILE). (In colour the astronaut's closure is measured at 1080 lines
    by benchmarks/bench_quality.py: at her own 512 lines H.264 blurs the seam.)"""
    clip = clips(face, variant)
    wav, phones = spoken
    report = evaluate_video(clip.video, audio=wav, phones=phones)
    art = report.articulation
    assert art is not None and art.closure.total >= 4, report.format_table()
    assert (art.closure.share or 0.0) >= MIN_CLOSURE, report.format_table()
    assert (art.opening.share or 0.0) >= 0.85, report.format_table()
