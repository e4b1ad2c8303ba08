"""The warp's per-portrait set-up: reused for the same portrait, rebuilt for any other, and the
frames it draws the same on every reuse."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync_tool.engine.warp.portrait_setup import SetupMemo, build_setup
from lipsync_tool.face.analyzer import FaceAnalyzer

POSES = [(0.0, 0.0, 0.0), (0.9, 0.2, 0.0), (0.4, -0.8, 0.0), (0.1, 0.0, 1.0), (1.0, 0.5, 0.0)]


@pytest.fixture(scope="module")
def face(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return astronaut, FaceAnalyzer().analyze(astronaut).landmarks.points


def frames(setup_mouth: object) -> list[np.ndarray]:
    return [setup_mouth.frame(*pose).copy() for pose in POSES]  # type: ignore[attr-defined]


def test_the_same_portrait_reuses_its_setup_and_another_gets_its_own(
    face: tuple[np.ndarray, np.ndarray],
) -> None:
    image, points = face
    memo = SetupMemo()
    first = memo.get(image, points, True, 1.0)
    assert memo.get(image.copy(), points.copy(), True, 1.0) is first, "equal pixels: reused"
    changed = image.copy()
    changed[0, 0] ^= 1  # one pixel's lowest bit
    for other in (
        memo.get(changed, points, True, 1.0),
        memo.get(image, points + 0.5, True, 1.0),
        memo.get(image, points, False, 1.0),
        memo.get(image, points, True, 0.5),
    ):
        assert other is not first
    small, small_points = image[::3, ::3], points / 3
    assert memo.get(small, small_points, True, 1.0).image.shape[0] > small.shape[0], "enlarged"
    assert memo.get(small, small_points, False, 1.0).image.shape == small.shape, "native size"


def test_a_reused_setup_draws_the_frames_of_a_fresh_one(
    face: tuple[np.ndarray, np.ndarray],
) -> None:
    image, points = face
    memo = SetupMemo()
    reused = memo.get(image, points, True, 1.0)
    first = frames(reused.mouth)
    again = frames(memo.get(image, points, True, 1.0).mouth)
    fresh = frames(build_setup(image, points, True, 1.0).mouth)
    for a, b, c in zip(first, again, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert np.abs(first[1].astype(int) - first[0].astype(int)).max() > 50, "the mouth moved"
    np.testing.assert_array_equal(reused.image, build_setup(image, points, True, 1.0).image)
