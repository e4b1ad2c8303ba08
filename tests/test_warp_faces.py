"""Units of the warp engine on hard faces: small (supersampled), turned (depth-aware), tilted, open-mouthed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.engine.warp.engine import pose_warnings
from lipsync_tool.engine.warp.geometry import (
    LIP_COMPRESSION,
    FaceFrame,
    jaw_open_displacements,
    lip_compress_displacements,
    lip_press_displacements,
    lip_stretch_displacements,
    own_mouth_close_displacements,
    sideways_foreshortening,
)
from lipsync_tool.engine.warp.mouth_warp import MouthWarp
from lipsync_tool.engine.warp.working_size import (
    SMALL_FACE,
    SupersampledMouth,
    frame_scale,
    mouth_for,
    supersample_factor,
)
from lipsync_tool.evaluation.metrics import CLOSED_OPENING
from lipsync_tool.face.analyzer import FaceAnalyzer
from lipsync_tool.face.measure import mouth_opening
from lipsync_tool.face.topology import (
    LIPS_LOWER_OUTER,
    LOWER_LIP_INNER_MID,
    MOUTH_CORNERS,
    UPPER_LIP_INNER_MID,
)

from . import portrait_variants as pv


@pytest.fixture(scope="module")
def hopper() -> tuple[np.ndarray, np.ndarray]:
    """Grace Hopper's portrait and its (468, 3) mesh landmarks with depth."""
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        image = np.asarray(Image.open(handle).convert("RGB"))
    return image, FaceAnalyzer().analyze(image).landmarks.points.astype(np.float64)


def turned(points: np.ndarray, degrees: float) -> np.ndarray:
    """The landmarks of the same face turned about its vertical axis, projected orthographically."""
    angle = np.radians(degrees)
    centre = points.mean(axis=0)
    rel = points - centre
    out = rel.copy()
    out[:, 0] = rel[:, 0] * np.cos(angle) + rel[:, 2] * np.sin(angle)
    out[:, 2] = -rel[:, 0] * np.sin(angle) + rel[:, 2] * np.cos(angle)
    return out + centre


def test_frame_scale_enlarges_small_faces_only_for_an_upscaled_video() -> None:
    assert frame_scale(512, 512, 250.0, upscale=True) == 1.0
    assert frame_scale(512, 512, 100.0, upscale=False) == 1.0
    assert frame_scale(512, 512, 100.0, upscale=True) == pytest.approx(SMALL_FACE / 100.0)
    assert frame_scale(1000, 1000, 50.0, upscale=True) == pytest.approx(1.08)  # 1080 lines cap
    assert frame_scale(4000, 3000, 50.0, upscale=True) == pytest.approx(0.36)  # never above it
    assert supersample_factor(90.0) == pytest.approx(SMALL_FACE / 90.0)
    assert supersample_factor(400.0) == 1.0


def test_a_small_face_is_drawn_supersampled_and_only_its_mouth_changes(
    hopper: tuple[np.ndarray, np.ndarray],
) -> None:
    image, points = hopper
    small = pv.downscale_to_face(image, pv.face_height(points))
    factor = small.shape[0] / image.shape[0]
    small_points = points * factor
    mouth = mouth_for(small, small_points, 1.0)
    assert isinstance(mouth, SupersampledMouth)
    assert mouth.frame(0.0) is small
    opened = mouth.frame(1.0)
    changed = np.abs(opened.astype(int) - small.astype(int)).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    roi = mouth.roi
    assert roi.x0 <= xs.min() and xs.max() < roi.x1 and roi.y0 <= ys.min() and ys.max() < roi.y1
    assert ys.min() > small_points[[33, 263], 1].max(), "nothing above the eyes moves"
    # The open mouth shows the same dark cavity as at full size (scaled), not a blur of it.
    face = FaceFrame.from_points(small_points[:, :2])
    lip_mid = (small_points[13, :2] + small_points[14, :2]) / 2 + face.down * 0.03 * face.height
    x, y = np.round(lip_mid).astype(int)
    assert opened[y - 1 : y + 2, x - 1 : x + 2].mean() < 70


def test_a_turned_face_spreads_its_far_lip_less_and_keeps_its_far_corner(
    hopper: tuple[np.ndarray, np.ndarray],
) -> None:
    _, frontal = hopper
    points = turned(frontal, 30.0)
    frame = FaceFrame.from_points(points[:, :2])
    factor = sideways_foreshortening(points, frame)
    u, _ = frame.local(points[:, :2])
    near_corner, far_corner = sorted(MOUTH_CORNERS, key=lambda c: -abs(u[c]))
    assert factor[far_corner] < 0.85 < 1.0 < factor[near_corner], factor[list(MOUTH_CORNERS)]
    frontal_factor = sideways_foreshortening(frontal, FaceFrame.from_points(frontal[:, :2]))
    assert np.allclose(frontal_factor[list(MOUTH_CORNERS)], 1.0, atol=0.1)
    # Opening: each lower-lip point drops like its mirror partner on the other side, so the far
    # corner is not dragged down into a point (shapes are laid out on the face turned back to frontal).
    drop = jaw_open_displacements(points, frame) @ frame.down
    lower = list(LIPS_LOWER_OUTER)
    pairs = list(zip(lower[1:5], lower[-2:-6:-1]))
    for a, b in pairs:
        assert drop[a] == pytest.approx(drop[b], abs=0.05), (a, b, drop[a], drop[b])
    assert drop[far_corner] == pytest.approx(drop[near_corner], abs=1e-6)
    # Spreading: each corner travels to the edge of its own half, no further.
    spread = lip_stretch_displacements(points, frame) @ frame.right
    assert abs(spread[[far_corner, near_corner]]) == pytest.approx(1.0, abs=0.01)


def test_an_open_mouth_portrait_closes_by_lifting_its_jaw(
    hopper: tuple[np.ndarray, np.ndarray],
) -> None:
    image, points = hopper
    opened = pv.open_mouth(image, points)
    landmarks = FaceAnalyzer().analyze(opened).landmarks.points.astype(np.float64)
    frame = FaceFrame.from_points(landmarks[:, :2])
    gap = (landmarks[14, :2] - landmarks[13, :2]) @ frame.down / frame.height
    assert gap > 0.03, "the portrait is open-mouthed"
    shift = own_mouth_close_displacements(landmarks[:, :2], frame)
    closed = landmarks[:, :2] + shift * frame.height
    assert (closed[14] - closed[13]) @ frame.down == pytest.approx(0.0, abs=0.5)
    chin_lift = -(shift[152] @ frame.down)
    assert chin_lift > 0.3 * (gap - 0.02), "the chin comes up with the lower lip"
    assert np.abs(shift[[33, 263, 1, 10]]).max() == 0.0
    warp = MouthWarp(opened, landmarks)
    assert warp.interior.has_own_mouth
    rest = warp.frame(0.0)
    inner = np.round((closed[13] + closed[14]) / 2).astype(int)
    assert rest[inner[1], inner[0]].mean() > 60, "no dark cavity left at rest"


def test_an_open_mouth_opened_further_leaves_no_second_lip_in_its_mouth(
    hopper: tuple[np.ndarray, np.ndarray],
) -> None:
    """Grace Hopper photographed mid-speech, her jaw dropped past the photo's: her own mouth moves with
    the upper jaw, but its bottom edge (her lower lip's inner rim) does not float in the cavity."""
    image, points = hopper
    opened = pv.open_mouth(image, points)
    landmarks = FaceAnalyzer().analyze(opened).landmarks.points.astype(np.float64)
    warp = MouthWarp(opened, landmarks)
    assert warp.interior.has_own_mouth
    frame = warp.frame(1.0)
    moved = warp.warp.moved(warp.points, {"open": 1.0})
    upper, lower = moved[UPPER_LIP_INNER_MID], moved[LOWER_LIP_INNER_MID]
    rim = warp.points[LOWER_LIP_INNER_MID] + (upper - warp.points[UPPER_LIP_INNER_MID])
    assert lower[1] - rim[1] > 8, "the lower lip dropped well past where the photo's rim is carried"
    x, y = int(round(rim[0])), int(round(rim[1]))
    carried = float(pv.luma(frame[y - 3 : y + 4, x - 1 : x + 2]).max())
    own_lips = float(pv.luma(warp.interior.lip[None, :])[0])
    assert carried < 0.5 * own_lips, f"{carried:.0f} where the rim was carried, lips {own_lips:.0f}"


def test_closed_lips_press_thinner_and_read_shut(hopper: tuple[np.ndarray, np.ndarray]) -> None:
    """Grace Hopper mirrored: the mesh reads her closed lips just above the closed threshold. They are
    kept as the photo's own (not redrawn), and pressed for m, b and p each lip thins towards the seam,
    which the mesh reads as shut."""
    image, _ = hopper
    mirrored = pv.mirror(image)
    analyzer = FaceAnalyzer()
    landmarks = analyzer.analyze(mirrored).landmarks.points.astype(np.float64)
    frame = FaceFrame.from_points(landmarks[:, :2])
    assert mouth_opening(landmarks) > CLOSED_OPENING, "the photo itself reads slightly parted"
    compress = lip_compress_displacements(landmarks, frame)
    assert np.allclose(
        own_mouth_close_displacements(landmarks, frame),
        lip_press_displacements(landmarks, frame) + compress,
    ), "closed lips meet where they part and press"
    shift = compress @ frame.down
    upper_thickness = (landmarks[13, :2] - landmarks[0, :2]) @ frame.down / frame.height
    lower_thickness = (landmarks[17, :2] - landmarks[14, :2]) @ frame.down / frame.height
    assert shift[0] == pytest.approx(LIP_COMPRESSION * upper_thickness, rel=0.02), "upper lip down"
    assert shift[17] == pytest.approx(-LIP_COMPRESSION * lower_thickness, rel=0.02), "lower lip up"
    assert np.abs(shift[[33, 263, 1, 10, 152]]).max() == 0.0, "eyes, nose and chin stay"
    warp = MouthWarp(mirrored, landmarks)
    assert not warp.interior.has_own_mouth, "closed lips keep the photo's own texture"
    pressed = mouth_opening(analyzer.analyze(warp.frame(0.0, close=1.0)).landmarks.points)
    assert pressed < CLOSED_OPENING and pressed < mouth_opening(landmarks) - 0.003, pressed


def test_pose_warnings_name_the_turn_and_the_tilt() -> None:
    assert pose_warnings(30.0, -15.0) == []
    turned_away, tilted = pose_warnings(-40.0, 0.0), pose_warnings(0.0, 25.0)
    assert len(turned_away) == 1 and "turned (40 degrees" in turned_away[0]
    assert len(tilted) == 1 and "tilted (25 degrees" in tilted[0]
    assert "may look wrong" in turned_away[0]
    assert len(pose_warnings(50.0, 30.0)) == 2


def test_a_portrait_tilted_past_the_supported_roll_renders_with_a_warning(
    workdir: Path, hopper: tuple[np.ndarray, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    import lipsync_tool as lt

    image, _ = hopper
    tilted = workdir / "tilted.png"
    Image.fromarray(pv.roll(image, 30.0)).save(tilted)
    upright = workdir / "upright.png"
    Image.fromarray(pv.roll(image, 10.0)).save(upright)
    options: dict[str, Any] = {"still": True, "upscale": False, "overwrite": True}
    with caplog.at_level(logging.WARNING, logger="lipsync_tool"):
        lt.render(upright, workdir / "bursts.wav", workdir / "upright.mp4", **options)
        assert not [r for r in caplog.records if "may look wrong" in r.getMessage()]
        lt.render(tilted, workdir / "bursts.wav", workdir / "tilted.mp4", **options)
    warned = [r.getMessage() for r in caplog.records if "may look wrong" in r.getMessage()]
    assert len(warned) == 1 and "tilted" in warned[0], caplog.text
    assert (workdir / "tilted.mp4").stat().st_size > 0
