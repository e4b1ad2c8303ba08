"""Opt-in (`-m smoke`): the real SadTalker environment built from the package index, the real upstream checkout
(LIPSYNC_SADTALKER_REPO_URL, e.g. a local mirror, else GitHub), its inference modules imported, its own argument
parser run on the command line we build, and each network run forward with random weights. Model weights are not
fetched (they cannot be on the build machines). Set LIPSYNC_SMOKE_CACHE_DIR to reuse a built environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from lipsync_tool.engine.base import EngineContext, NoOptions
from lipsync_tool.engine.sadtalker.command import job_paths
from lipsync_tool.engine.sadtalker.engine import SadTalkerEngine
from lipsync_tool.engine.sadtalker.options import SadTalkerOptions
from lipsync_tool.request import RenderRequest
from lipsync_tool.resources.repository import SADTALKER_REPOSITORY, ensure_repository

pytestmark = pytest.mark.smoke

DATA = Path(__file__).parent / "data" / "sadtalker"
MODULES = (
    "src.utils.preprocess",
    "src.test_audio2coeff",
    "src.facerender.animate",
    "src.generate_batch",
    "src.generate_facerender_batch",
    "src.utils.init_path",
    "src.utils.face_enhancer",
    "src.utils.croper",
    "src.face3d.extract_kp_videos_safe",
    "gfpgan",
    "basicsr",
    "facexlib",
)
PARSE = """import argparse, json, runpy, sys
parse = argparse.ArgumentParser.parse_args
def capture(self, *args, **kwargs):
    print(json.dumps(vars(parse(self, *args, **kwargs))))
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = capture
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[SadTalkerEngine, Path, Path]:
    cache = Path(
        os.environ.get("LIPSYNC_SMOKE_CACHE_DIR") or tmp_path_factory.mktemp("sadtalker-smoke")
    )
    engine = SadTalkerEngine(NoOptions(), EngineContext(cache, install_deps=True))
    checkout = ensure_repository(SADTALKER_REPOSITORY, cache)
    python = engine.environment.ensure(install=True)
    return engine, checkout, python


def _run(python: Path, checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(python), "-W", "ignore", *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_inference_modules_import(built: tuple[SadTalkerEngine, Path, Path]) -> None:
    _, checkout, python = built
    result = _run(
        python,
        checkout,
        "-c",
        f"import {', '.join(MODULES)}; import numpy, torch; "
        "print(numpy.__version__, torch.__version__)",
    )
    assert result.stdout.split()[0] == "1.23.5"


def test_upstream_parser_accepts_our_command_line(
    built: tuple[SadTalkerEngine, Path, Path], tmp_path: Path
) -> None:
    engine, checkout, python = built
    options = SadTalkerOptions(resolution=512, preprocess="full", enhancer="gfpgan")
    request = RenderRequest(portrait="p.jpg", audio="a.wav", output="o.mp4")
    command = engine._command(checkout, job_paths(tmp_path), request, options)
    assert "--help" not in command
    help_text = _run(python, checkout, str(checkout / "inference.py"), "--help").stdout
    assert "--batch_size" in help_text and "--preprocess" in help_text
    parsed = json.loads(
        _run(python, checkout, "-c", PARSE, *command[1:]).stdout.strip().splitlines()[-1]
    )
    assert parsed["size"] == 512 and parsed["preprocess"] == "full" and parsed["still"] is True
    assert parsed["enhancer"] == "gfpgan" and parsed["batch_size"] == 2
    assert parsed["result_dir"] == str(tmp_path / "sadtalker" / "results")
    assert parsed["cpu"] is ("--cpu" in command)


def test_each_stage_runs_forward_with_random_weights(
    built: tuple[SadTalkerEngine, Path, Path],
) -> None:
    _, checkout, python = built
    result = _run(python, checkout, "-c", (DATA / "smoke_probe.py").read_text(encoding="utf-8"))
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["generator"] == [1, 3, 256, 256] and report["net_recon"] == [1, 257]
    assert (
        report["mel"][0] == 80
        and report["calculate_points"] == [1, 98, 2]
        and len(report["align_img"]) == 5
    )
