"""A portrait with several faces: the largest is used, counted and warned about once."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from lipsync_tool.cli import main
from lipsync_tool.media.image import load_portrait

from .inputs_helpers import partial_files, two_faces


# --- several faces -------------------------------------------------------------------------------
@pytest.mark.parametrize("astronaut_first", [True, False], ids=["largest-left", "largest-right"])
def test_several_faces_the_largest_is_used_and_counted(
    tmp_path: Path,
    assets: Path,
    astronaut: np.ndarray,
    caplog: pytest.LogCaptureFixture,
    astronaut_first: bool,
) -> None:
    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.renderer import Renderer
    from lipsync_tool.request import RenderRequest

    portrait = two_faces(tmp_path / "two.png", astronaut, astronaut_first)
    out = tmp_path / "out.mp4"
    renderer = Renderer(load=False)
    with caplog.at_level(logging.WARNING, logger="lipsync_tool"):
        plan = renderer.plan(
            RenderRequest(portrait=portrait, audio=assets / "bursts.wav", output=out)
        )
    assert plan.faces_seen == 2
    face_warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "face" in r.getMessage()
    ]
    assert len(face_warnings) == 1 and "2 faces" in face_warnings[0], face_warnings
    assert not out.exists() and not partial_files(tmp_path), "a plan renders nothing"
    face = FaceAnalyzer().analyze(load_portrait(portrait))
    astronaut_x = (0, 512) if astronaut_first else (200, 712)
    assert astronaut_x[0] <= face.box.x0 and face.box.x1 <= astronaut_x[1], (
        "the astronaut's face is the largest"
    )
    (tmp_path / "plan.json").write_text(
        json.dumps(
            {
                "faces_seen": plan.faces_seen,
                "box": [face.box.x0, face.box.y0, face.box.x1, face.box.y1],
            }
        )
    )


def test_a_warning_logged_before_a_failure_adds_no_stderr_line(
    workdir: Path, astronaut: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    portrait = two_faces(workdir / "two.png", astronaut)
    (workdir / "empty.wav").write_bytes(b"")
    code = main([str(portrait), str(workdir / "empty.wav"), str(workdir / "o.mp4")])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
