"""Units of the warp engine: the loudness map, the spline, and the warp's locality."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from lipsync_tool.engine.warp.geometry import FaceFrame, jaw_open_displacements, smooth_loop
from lipsync_tool.engine.warp.mouth_warp import MouthWarp
from lipsync_tool.engine.warp.tps import ThinPlateSpline
from lipsync_tool.engine.warp.working_size import render_scale
from lipsync_tool.face.analyzer import FaceAnalyzer
from lipsync_tool.speech.envelope import loudness_db

from .conftest import SPEECH_RATE


def test_loudness_is_centred_on_each_frame() -> None:
    """A click at 1.02 s (frame 25's centre) lights frame 25 most."""
    samples = np.zeros(2 * SPEECH_RATE, np.float32)
    centre = int(1.02 * SPEECH_RATE)
    samples[centre - 80 : centre + 80] = 0.5
    level = loudness_db(samples, SPEECH_RATE, 25, 50)
    assert int(np.argmax(level)) == 25


def test_thin_plate_spline_passes_through_its_controls() -> None:
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 100, (40, 2))
    values = rng.normal(0, 3, (40, 2))
    spline = ThinPlateSpline(points, values, smoothing=0.0)
    assert np.allclose(spline(points), values, atol=1e-6)
    assert np.allclose(
        ThinPlateSpline(points, np.ones((40, 2)))(rng.uniform(0, 100, (10, 2))), 1.0, atol=1e-3
    )


def test_render_scale_caps_at_1080_lines_and_never_enlarges() -> None:
    assert render_scale(512, 512) == 1.0
    assert render_scale(4000, 3000) == pytest.approx(0.36)
    assert render_scale(3000, 1000) == pytest.approx(0.64)


def test_smooth_loop_keeps_the_shape_and_rounds_it() -> None:
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    rounded = smooth_loop(square)
    assert len(rounded) == 16
    assert rounded.min() >= 0 and rounded.max() <= 10
    corners = {tuple(p) for p in square}
    assert not corners & {tuple(p) for p in rounded}, "the corners are cut"


@pytest.fixture(scope="module")
def hopper() -> tuple[np.ndarray, np.ndarray]:
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        image = np.asarray(Image.open(handle).convert("RGB"))
    return image, FaceAnalyzer().analyze(image).landmarks.points[:, :2].astype(np.float64)


def test_jaw_opening_moves_the_lower_lip_down_and_leaves_the_eyes(
    hopper: tuple[np.ndarray, np.ndarray],
) -> None:
    _, points = hopper
    frame = FaceFrame.from_points(points)
    shift = jaw_open_displacements(points, frame)
    down = shift @ frame.down
    assert down[14] == pytest.approx(1.0, abs=1e-3) and down[17] == pytest.approx(
        1.0, abs=1e-3
    )  # lower lip, inner and outer
    assert down[13] < 0  # upper lip lifts
    assert 0 < down[152] < 1  # chin follows, less than the lip
    assert np.abs(shift[[33, 133, 362, 263, 1, 10]]).max() == 0.0  # eyes, nose, forehead stay


def test_warp_is_local_and_closed_mouth_is_the_portrait(
    hopper: tuple[np.ndarray, np.ndarray],
) -> None:
    image, points = hopper
    warp = MouthWarp(image, points)
    assert warp.frame(0.0) is image
    opened = warp.frame(1.0)
    changed = np.abs(opened.astype(int) - image.astype(int)).max(axis=2) > 3
    ys, xs = np.nonzero(changed)
    roi = warp.roi
    assert roi.x0 <= xs.min() and xs.max() < roi.x1 and roi.y0 <= ys.min() and ys.max() < roi.y1
    eyes_y = points[[33, 263], 1].max()
    assert ys.min() > eyes_y, "nothing above the eyes moves"
    mouth = warp.mouth_opening_polygon(1.0)
    assert np.ptp(mouth[:, 1]) > 0.04 * warp.face.height, "the lips part visibly"
    import cv2

    inside = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(mouth).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0
    luma = opened[inside].mean(axis=1)
    assert luma.min() < 50, "a dark oral cavity shows between the lips"
    assert luma.max() > 170, "upper teeth show under the upper lip"


def test_warp_is_deterministic(hopper: tuple[np.ndarray, np.ndarray]) -> None:
    image, points = hopper
    assert np.array_equal(MouthWarp(image, points).frame(0.6), MouthWarp(image, points).frame(0.6))


def test_a_smile_with_teeth_presses_shut_into_lips_and_a_seam() -> None:
    """The astronaut smiles with her teeth showing: at rest and at full closure her lips are redrawn over
    the teeth, the mesh reads the lips as nearly closed, and no tooth-white pixel is left between them;
    as the jaw opens they part, back to the photo's own smile and beyond."""
    import skimage.data

    from lipsync_tool.engine.warp.mouth_warp import OWN_MOUTH_PARTED_AT
    from lipsync_tool.face.measure import mouth_opening
    from lipsync_tool.face.topology import LIPS_INNER, LIPS_OUTER

    image = skimage.data.astronaut()
    analyzer = FaceAnalyzer()
    points = analyzer.analyze(image).landmarks.points[:, :2].astype(np.float64)
    warp = MouthWarp(image, points)
    assert warp.interior.has_own_mouth
    reading = lambda frame: mouth_opening(analyzer.analyze(frame).landmarks.points)  # noqa: E731
    smile = reading(image)
    shut = warp.frame(0.0, close=1.0)
    closed, rest = reading(shut), reading(warp.frame(0.0))
    assert closed < 0.3 * smile and rest < 0.3 * smile, (
        f"pressed {closed:.4f}, at rest {rest:.4f}, smiling {smile:.4f}"
    )
    parting = [reading(warp.frame(share * OWN_MOUTH_PARTED_AT)) for share in (0.0, 0.5, 1.0)]
    assert parting[0] < parting[1] < parting[2], f"the lips part as the jaw opens: {parting}"
    assert parting[2] > 0.8 * smile, (
        f"{parting[2]:.4f} at full parting against the photo's {smile:.4f}"
    )
    teeth = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(teeth, [np.round(points[list(LIPS_INNER)]).astype(np.int32)], 1)
    lips = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(points[list(LIPS_OUTER)]).astype(np.int32)], 1)
    between, lip_band = teeth.astype(bool), lips.astype(bool) & ~teeth.astype(bool)
    white = lambda pixels: float(
        np.mean(pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114]) > 200)
    )  # noqa: E731
    assert white(image[between]) > 0.3, "the portrait shows white teeth there"
    assert white(shut[between]) < white(image[lip_band]) + 0.05, (
        "no more white than her lips' own highlights"
    )


@pytest.fixture(scope="module")
def astronaut() -> tuple[np.ndarray, np.ndarray]:
    import skimage.data

    image = skimage.data.astronaut()
    return image, FaceAnalyzer().analyze(image).landmarks.points[:, :2].astype(np.float64)


def _inside(image: np.ndarray, contour: np.ndarray) -> np.ndarray:
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(contour).astype(np.int32)], 1)
    return mask.astype(bool)


def test_closed_lips_meet_at_a_dark_seam_in_their_own_hue(
    astronaut: tuple[np.ndarray, np.ndarray],
) -> None:
    """The seam between the astronaut's closed lips is darker than her lips, no greyer than they are, and
    near their hue (their colour set further apart from her skin's), as a real closed mouth's is: a seam
    darkened towards grey reads as a gap to the eye and to the face mesh, and one tinted a fixed red would
    be pink on a black-and-white photo (tests/test_colour.py)."""
    from lipsync_tool.face.topology import LIPS_OUTER

    from .portrait_variants import hue_degrees, hue_difference, luma

    image, points = astronaut
    lips = _inside(image, points[list(LIPS_OUTER)])
    shut = MouthWarp(image, points).frame(0.0, close=1.0)[lips].astype(np.float32)
    lum = luma(shut)
    seam = shut[lum <= np.percentile(lum, 15)]
    own = image[lips].astype(np.float32)
    saturation = lambda pixels: float(
        np.median(np.ptp(pixels, axis=1) / np.maximum(pixels.max(axis=1), 1))
    )  # noqa: E731
    assert float(np.median(luma(seam))) < 0.75 * float(np.median(luma(own)))
    assert hue_difference(hue_degrees(seam), hue_degrees(own)) < 30.0
    assert saturation(seam) >= saturation(own), (
        f"seam saturation {saturation(seam):.2f} against the lips' {saturation(own):.2f}"
    )


def test_teeth_seen_through_half_parted_lips_keep_their_colour(
    astronaut: tuple[np.ndarray, np.ndarray],
) -> None:
    """Half way to the photo's smile the teeth between the lips are as white as in the photo, not washed
    towards the lip colour (only a nearly shut gap darkens to the seam)."""
    from lipsync_tool.engine.warp.mouth_warp import OWN_MOUTH_PARTED_AT
    from lipsync_tool.face.topology import LIPS_INNER

    image, points = astronaut
    between = _inside(image, points[list(LIPS_INNER)])
    white = lambda pixels: float(
        np.mean(pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114]) > 200)
    )  # noqa: E731
    half = MouthWarp(image, points).frame(0.5 * OWN_MOUTH_PARTED_AT)
    assert white(half[between]) > 0.6 * white(image[between]), (
        f"{white(half[between]):.2f} white, photo {white(image[between]):.2f}"
    )


def test_a_smile_opens_in_proportion_to_the_jaw(astronaut: tuple[np.ndarray, np.ndarray]) -> None:
    """The mesh's reading of the astronaut's mouth grows with the jaw opening, about in proportion: her
    lips part linearly (parted by a smooth step, 0.3 of the jaw already read 0.57 of the full opening, now 0.45),
    and her lower teeth show once the jaw drops past the photo's own opening."""
    from lipsync_tool.face.measure import mouth_opening

    image, points = astronaut
    analyzer = FaceAnalyzer()
    warp = MouthWarp(image, points)
    openings = (0.0, 0.3, 0.6, 1.0)
    readings = np.array(
        [mouth_opening(analyzer.analyze(warp.frame(o, 0.1)).landmarks.points) for o in openings]
    )
    assert np.all(np.diff(readings) > 0), f"readings {np.round(readings, 4)}"
    assert readings[1] < 0.5 * readings[-1], (
        f"0.3 of the jaw reads {readings[1] / readings[-1]:.2f} of the full opening"
    )
    assert warp._lower_teeth_shown(0.5, 0.0) == 0.0 and warp._lower_teeth_shown(1.0, 0.0) == 1.0


def test_paleness_is_how_little_colour_sets_the_lips_apart_from_the_skin() -> None:
    """1 for lips in the skin's own colour (grey, a toned print), 0 for lips far from it in
    chromaticity; the astronaut's pink lips are in between."""
    from lipsync_tool.engine.warp.palette import MouthPalette

    def paleness(lip: tuple[float, float, float], skin: tuple[float, float, float]) -> float:
        colour = lambda c: np.asarray(c, np.float32)  # noqa: E731
        return MouthPalette(colour(lip), colour(skin), colour((250, 250, 250))).paleness

    assert paleness((181, 181, 181), (185, 185, 185)) == 1.0
    assert paleness((178, 142, 103), (185, 148, 107)) > 0.95  # sepia: one hue, different light
    assert 0.3 < paleness((215, 165, 152), (212, 178, 152)) < 0.9  # the astronaut's own
    assert paleness((200, 60, 70), (212, 178, 152)) == 0.0  # red lips


def test_pale_closed_lips_are_drawn_lighter_with_their_highlights_capped(
    astronaut: tuple[np.ndarray, np.ndarray],
) -> None:
    """In grey the closed lips' texture is lifted towards a little above the skin's light (darker lips
    read as a parted mouth) and no pixel keeps a highlight that would read as a tooth; grey stays grey."""
    from lipsync_tool.engine.warp.lip_layers import (
        LIP_HIGHLIGHT,
        PALE_ABOVE_SKIN,
        PALE_LIFT,
        LipLayers,
    )

    from .portrait_variants import grayscale, luma

    image, points = astronaut
    grey = grayscale(image)
    layers = LipLayers(grey, points, FaceFrame.from_points(points).height)
    texture = np.full((10, 20, 3), 150.0, np.float32)
    texture[4:6, 8:12] = 250.0
    drawn = layers._set_apart(texture, np.ones(texture.shape[:2], bool))
    lip, skin = layers._lip_luma, layers._skin_luma
    body = luma(drawn)[0, 0]
    assert 150.0 < body <= min(PALE_ABOVE_SKIN * skin, (1 + PALE_LIFT) * 150.0) + 0.5
    assert luma(drawn).max() <= LIP_HIGHLIGHT * lip + 0.5
    assert np.ptp(drawn, axis=2).max() < 1e-3
