"""Face detection, mesh, topology and measurements on real portraits shipped in packages."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lipsync_tool.errors import InputError, ResourceError
from lipsync_tool.face import measure, topology
from lipsync_tool.face.analyzer import NO_FACE_MESSAGE, FaceAnalyzer, PortraitFace
from lipsync_tool.face.detector import FULL_RANGE, SHORT_RANGE, FaceBox, weighted_nms
from lipsync_tool.face.mesh import FaceLandmarks
from lipsync_tool.face.model_files import (
    MODEL_FILES,
    model_path,
    read_model,
    read_verified,
)

skimage_data = pytest.importorskip("skimage.data")
cbook = pytest.importorskip("matplotlib.cbook")


# --- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(skimage_data.astronaut())


@pytest.fixture(scope="module")
def grace() -> np.ndarray:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def astronaut_face(analyzer: FaceAnalyzer, astronaut: np.ndarray) -> PortraitFace:
    return analyzer.analyze(astronaut)


@pytest.fixture(scope="module")
def grace_face(analyzer: FaceAnalyzer, grace: np.ndarray) -> PortraitFace:
    return analyzer.analyze(grace)


def save_overlay(path: Path, image: np.ndarray, landmarks: FaceLandmarks) -> None:
    """Artefact for a failing test: landmarks and lip loops drawn on the image."""
    out = image.copy()
    for x, y in landmarks.xy:
        cv2.circle(out, (int(x), int(y)), 1, (0, 255, 0), -1)
    for loop in (topology.LIPS_OUTER, topology.LIPS_INNER, topology.FACE_OVAL):
        cv2.polylines(out, [landmarks.xy[list(loop)].astype(np.int32)], True, (255, 0, 0))
    Image.fromarray(out).save(path)


# --- model files ------------------------------------------------------------------------
def test_vendored_models_verify() -> None:
    assert set(MODEL_FILES) == {
        "face_detection_short_range",
        "face_detection_full_range",
        "face_landmark",
    }
    for name, entry in MODEL_FILES.items():
        assert hashlib.sha256(read_model(name)).hexdigest() == entry.sha256
        path = model_path(name)
        assert path.is_file() and path.name == entry.filename
        assert (path.parent / "NOTICE").is_file() and (path.parent / "LICENSE").is_file()


def test_tampered_model_raises_resource_error(tmp_path: Path) -> None:
    entry = MODEL_FILES["face_landmark"]
    copy = tmp_path / entry.filename
    shutil.copyfile(model_path("face_landmark"), copy)
    assert read_verified(copy, entry.sha256)  # an intact copy passes
    with copy.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(ResourceError, match="pip install --force-reinstall lipsync-tool"):
        read_verified(copy, entry.sha256)
    with pytest.raises(ResourceError, match="damaged"):
        read_verified(tmp_path / "missing.tflite", entry.sha256)


# --- detection --------------------------------------------------------------------------
def test_anchor_counts() -> None:
    assert SHORT_RANGE.anchors().shape == (896, 2)
    assert FULL_RANGE.anchors().shape == (2304, 2)
    first = SHORT_RANGE.anchors()[:4]
    np.testing.assert_allclose(first, [[1 / 32, 1 / 32]] * 2 + [[3 / 32, 1 / 32]] * 2)


def test_weighted_nms_blends_overlaps() -> None:
    box = np.zeros((8, 2))
    box[1] = (10, 10)
    shifted, far = box + 1, box + 100
    merged = weighted_nms(np.stack([box, shifted, far]), np.array([0.9, 0.6, 0.7]))
    assert [round(score, 2) for _, score in merged] == [0.9, 0.7]
    np.testing.assert_allclose(merged[0][0][0], [0.4, 0.4])  # 0.6 / 1.5 of the way


def test_face_box_properties() -> None:
    face = FaceBox(10, 20, 50, 100, 0.9, np.zeros((6, 2)))
    assert (face.width, face.height, face.area, face.center) == (40, 80, 3200, (30, 60))
    with pytest.raises(ValueError):
        face.keypoints[0, 0] = 1.0
    json.dumps(face.to_dict())


def test_astronaut_box(astronaut_face: PortraitFace) -> None:
    box = astronaut_face.box
    assert astronaut_face.faces_seen == 1
    assert box.score > 0.8
    # measured and checked by eye: x 177..273, y 79..175 in the 512 x 512 image
    assert 160 < box.x0 < 195 and 255 < box.x1 < 290
    assert 60 < box.y0 < 95 and 160 < box.y1 < 195
    right_eye, left_eye, nose = box.keypoints[:3]
    assert right_eye[0] < nose[0] < left_eye[0]  # unmirrored: subject's right on the left


def test_grace_box(grace_face: PortraitFace, grace: np.ndarray) -> None:
    box = grace_face.box
    assert grace_face.faces_seen == 1
    assert 140 < box.x0 < 190 and 340 < box.x1 < 390
    assert 110 < box.y0 < 160 and 320 < box.y1 < 370


@pytest.mark.parametrize("kind", ["black", "white", "noise", "gradient"])
def test_no_face_images(analyzer: FaceAnalyzer, kind: str) -> None:
    rng = np.random.default_rng(0)
    images = {
        "black": np.zeros((480, 640, 3), np.uint8),
        "white": np.full((480, 640, 3), 255, np.uint8),
        "noise": rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
        "gradient": np.dstack([np.tile(np.linspace(0, 255, 640), (480, 1))] * 3),
    }
    image = np.ascontiguousarray(images[kind].astype(np.uint8))
    assert analyzer.detector.detect(image) == []
    with pytest.raises(InputError) as caught:
        analyzer.analyze(image)
    assert str(caught.value) == NO_FACE_MESSAGE


def test_false_detection_rejected_by_mesh(analyzer: FaceAnalyzer) -> None:
    wheel = np.ascontiguousarray(skimage_data.colorwheel()[..., :3])
    with pytest.raises(InputError):  # BlazeFace alone sees a face here (score ~0.58)
        analyzer.analyze(wheel)


def test_two_portraits_largest_first(
    analyzer: FaceAnalyzer, astronaut: np.ndarray, grace: np.ndarray
) -> None:
    canvas = np.full((600, 1100, 3), 40, np.uint8)
    canvas[:512, :512] = astronaut
    canvas[:, 560:1072] = grace
    faces = analyzer.detector.detect(canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].center[0] > 560 > faces[1].center[0]  # grace's face is the larger
    assert analyzer.analyze(canvas).faces_seen == 2


@pytest.mark.parametrize("side", [2000, 200])
def test_scaled_portrait(
    analyzer: FaceAnalyzer, astronaut: np.ndarray, astronaut_face: PortraitFace, side: int
) -> None:
    interpolation = cv2.INTER_CUBIC if side > 512 else cv2.INTER_AREA
    image = cv2.resize(astronaut, (side, side), interpolation=interpolation)
    result = analyzer.analyze(image)
    factor = 512 / side
    assert result.faces_seen == 1
    np.testing.assert_allclose(
        np.array(result.box.center) * factor, astronaut_face.box.center, atol=2
    )
    error = np.abs(result.landmarks.xy * factor - astronaut_face.landmarks.xy).mean()
    assert error < 0.01 * measure.face_height(astronaut_face.landmarks.points)


# --- mesh -------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["astronaut", "grace"])
def test_landmarks_on_face(request: pytest.FixtureRequest, which: str, tmp_path: Path) -> None:
    face: PortraitFace = request.getfixturevalue(f"{which}_face")
    image = request.getfixturevalue(which)
    save_overlay(tmp_path / f"{which}.png", image, face.landmarks)
    points, xy = face.landmarks.points, face.landmarks.xy
    assert points.shape == (468, 3) and points.dtype == np.float32
    assert face.landmarks.score > 0.9
    y = xy[:, 1]
    eyes = y[list(topology.EYE_CORNERS)].mean()
    lips = y[list(topology.LIPS_OUTER)].mean()
    assert y[topology.FOREHEAD_TOP] < eyes < y[topology.NOSE_TIP] < lips < y[topology.CHIN]
    assert xy[topology.RIGHT_EYE_OUTER, 0] < xy[topology.NOSE_TIP, 0]
    assert xy[topology.NOSE_TIP, 0] < xy[topology.LEFT_EYE_OUTER, 0]
    # every landmark inside (a slightly enlarged) detection box
    box = face.box
    margin = 0.3 * box.width
    assert (xy[:, 0] > box.x0 - margin).all() and (xy[:, 0] < box.x1 + margin).all()
    assert (xy[:, 1] > box.y0 - margin).all() and (xy[:, 1] < box.y1 + margin).all()
    json.dumps(face.to_dict())


def test_mouth_measurements(grace_face: PortraitFace, astronaut_face: PortraitFace) -> None:
    grace_points, astro_points = grace_face.landmarks.points, astronaut_face.landmarks.points
    assert measure.mouth_opening(grace_points) < 0.03  # closed mouth
    assert 0.03 < measure.mouth_opening(astro_points) < 0.12  # smiling, teeth showing
    for points in (grace_points, astro_points):
        assert 0.3 < measure.mouth_width(points) < 0.55
        for side in ("left", "right"):
            assert 0.15 < measure.eye_openness(points, side) < 0.4  # type: ignore[arg-type]
    assert 180 < measure.face_height(grace_points) < 230


def test_rotated_portrait(
    analyzer: FaceAnalyzer, astronaut: np.ndarray, astronaut_face: PortraitFace
) -> None:
    centre = astronaut_face.box.center
    matrix = cv2.getRotationMatrix2D(centre, 20, 1.0)  # +20 deg = anticlockwise on screen
    rotated = cv2.warpAffine(astronaut, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
    result = analyzer.analyze(rotated)
    turned = result.landmarks.roll_degrees() - astronaut_face.landmarks.roll_degrees()
    assert turned == pytest.approx(-20, abs=1.5)
    expected = astronaut_face.landmarks.xy @ matrix[:, :2].T + matrix[:, 2]
    error = np.abs(result.landmarks.xy - expected).mean()
    assert error < 0.01 * measure.face_height(astronaut_face.landmarks.points)


def test_track_follows_and_loses(
    analyzer: FaceAnalyzer, astronaut: np.ndarray, astronaut_face: PortraitFace
) -> None:
    shifted = np.roll(astronaut, (6, -4), axis=(0, 1))
    tracked = analyzer.mesh.track(shifted, astronaut_face.landmarks)
    assert tracked.score > 0.9
    moved = np.median(tracked.xy - astronaut_face.landmarks.xy, axis=0)
    np.testing.assert_allclose(moved, [-4, 6], atol=1.0)
    lost = analyzer.mesh.track(np.zeros_like(astronaut), astronaut_face.landmarks)
    assert lost.score < 0.1


# --- topology ---------------------------------------------------------------------------
# MediaPipe's connection sets (face_mesh_connections.py), written out independently of
# the loops in lipsync_tool.face.topology so that the loops are checked against them.
MP_LIPS = {
    (61, 146),
    (146, 91),
    (91, 181),
    (181, 84),
    (84, 17),
    (17, 314),
    (314, 405),
    (405, 321),
    (321, 375),
    (375, 291),
    (61, 185),
    (185, 40),
    (40, 39),
    (39, 37),
    (37, 0),
    (0, 267),
    (267, 269),
    (269, 270),
    (270, 409),
    (409, 291),
    (78, 95),
    (95, 88),
    (88, 178),
    (178, 87),
    (87, 14),
    (14, 317),
    (317, 402),
    (402, 318),
    (318, 324),
    (324, 308),
    (78, 191),
    (191, 80),
    (80, 81),
    (81, 82),
    (82, 13),
    (13, 312),
    (312, 311),
    (311, 310),
    (310, 415),
    (415, 308),
}
MP_LEFT_EYE = {
    (263, 249),
    (249, 390),
    (390, 373),
    (373, 374),
    (374, 380),
    (380, 381),
    (381, 382),
    (382, 362),
    (263, 466),
    (466, 388),
    (388, 387),
    (387, 386),
    (386, 385),
    (385, 384),
    (384, 398),
    (398, 362),
}
MP_RIGHT_EYE = {
    (33, 7),
    (7, 163),
    (163, 144),
    (144, 145),
    (145, 153),
    (153, 154),
    (154, 155),
    (155, 133),
    (33, 246),
    (246, 161),
    (161, 160),
    (160, 159),
    (159, 158),
    (158, 157),
    (157, 173),
    (173, 133),
}
MP_FACE_OVAL = {
    (10, 338),
    (338, 297),
    (297, 332),
    (332, 284),
    (284, 251),
    (251, 389),
    (389, 356),
    (356, 454),
    (454, 323),
    (323, 361),
    (361, 288),
    (288, 397),
    (397, 365),
    (365, 379),
    (379, 378),
    (378, 400),
    (400, 377),
    (377, 152),
    (152, 148),
    (148, 176),
    (176, 149),
    (149, 150),
    (150, 136),
    (136, 172),
    (172, 58),
    (58, 132),
    (132, 93),
    (93, 234),
    (234, 127),
    (127, 162),
    (162, 21),
    (21, 54),
    (54, 103),
    (103, 67),
    (67, 109),
    (109, 10),
}


def _undirected(edges: object) -> set[frozenset[int]]:
    return {frozenset(edge) for edge in edges}  # type: ignore[attr-defined]


def test_loops_are_closed_chains_of_mediapipe_edges() -> None:
    loops = {
        "lips": (topology.LIPS_OUTER, topology.LIPS_INNER),
        "left_eye": (topology.LEFT_EYE,),
        "right_eye": (topology.RIGHT_EYE,),
        "oval": (topology.FACE_OVAL,),
    }
    expected = {
        "lips": MP_LIPS,
        "left_eye": MP_LEFT_EYE,
        "right_eye": MP_RIGHT_EYE,
        "oval": MP_FACE_OVAL,
    }
    for name, group in loops.items():
        edges = set()
        for loop in group:
            assert len(set(loop)) == len(loop), f"{name} repeats a point"
            edges |= _undirected(topology.loop_edges(loop))
        assert edges == _undirected(expected[name]), name
    assert len(topology.FACE_OVAL) == 36
    assert len(topology.LIPS_OUTER) == len(topology.LIPS_INNER) == 20
    jaw = _undirected(topology.chain_edges(topology.JAW))
    assert jaw <= _undirected(MP_FACE_OVAL) and topology.CHIN in topology.JAW
    for upper, lower in topology.INNER_LIP_PAIRS:
        assert upper in topology.LIPS_UPPER_INNER and lower in topology.LIPS_LOWER_INNER
        assert topology.LIPS_UPPER_INNER.index(upper) == topology.LIPS_LOWER_INNER.index(lower)


def test_topology_on_real_face(grace_face: PortraitFace, astronaut_face: PortraitFace) -> None:
    for face in (grace_face, astronaut_face):
        xy = face.landmarks.xy.astype(np.float32)
        y = xy[:, 1]
        nose, chin = y[topology.NOSE_TIP], y[topology.CHIN]
        assert (nose < y[list(topology.LIPS_INNER)]).all()
        assert (y[list(topology.LIPS_INNER)] < chin).all()
        for eye in (topology.LEFT_EYE, topology.RIGHT_EYE):
            assert (y[list(eye)] < nose).all()
        assert xy[list(topology.RIGHT_EYE), 0].max() < xy[list(topology.LEFT_EYE), 0].min()
        assert y[topology.UPPER_LIP_INNER_MID] <= y[topology.LOWER_LIP_INNER_MID]
        outer = xy[list(topology.LIPS_OUTER)]
        for index in topology.LIPS_INNER:
            if index not in topology.INNER_MOUTH_CORNERS:
                point = (float(xy[index, 0]), float(xy[index, 1]))
                assert cv2.pointPolygonTest(outer, point, False) >= 0
        oval = xy[list(topology.FACE_OVAL)]
        for index in (topology.NOSE_TIP, *topology.EYE_CORNERS, *topology.MOUTH_CORNERS):
            point = (float(xy[index, 0]), float(xy[index, 1]))
            assert cv2.pointPolygonTest(oval, point, False) > 0


# --- measurements on synthetic points ---------------------------------------------------
def _synthetic_face(gap: float) -> np.ndarray:
    points = np.zeros((468, 3))
    points[topology.FOREHEAD_TOP, :2] = (0, 0)
    points[topology.CHIN, :2] = (0, 100)
    for upper, lower in topology.INNER_LIP_PAIRS:
        points[upper, :2] = (upper % 7, 70)
        points[lower, :2] = (upper % 7, 70 + gap)
    points[topology.MOUTH_CORNERS[0], :2] = (-20, 72)
    points[topology.MOUTH_CORNERS[1], :2] = (20, 72)
    return points


def test_measure_synthetic() -> None:
    assert measure.face_height(_synthetic_face(0)) == 100
    assert measure.mouth_opening(_synthetic_face(0)) == 0
    assert measure.mouth_opening(_synthetic_face(8)) == pytest.approx(0.08)
    assert measure.mouth_opening(_synthetic_face(-3)) == 0  # overlapping lips clamp to 0
    assert measure.mouth_width(_synthetic_face(0)) == pytest.approx(0.4)
    angle = np.radians(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turned = _synthetic_face(8)
    turned[:, :2] = turned[:, :2] @ rotation.T * 3 + 50
    assert measure.mouth_opening(turned) == pytest.approx(0.08)
    with pytest.raises(ValueError):
        measure.mouth_opening(np.zeros((10, 2)))
    with pytest.raises(ValueError):
        measure.eye_openness(turned, "middle")  # type: ignore[arg-type]
