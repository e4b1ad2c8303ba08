"""Wav2Lip upstream mode against a stand-in checkout (a local bare git repo with upstream's layout and CLI contract)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.deps import Requirement
from lipsync_tool.engine.base import EngineContext, EngineJob
from lipsync_tool.engine.wav2lip import upstream
from lipsync_tool.engine.wav2lip.options import Wav2LipOptions, Wav2LipSettings
from lipsync_tool.engine.wav2lip.upstream import (
    RESULT_AVI,
    RUN_DIR,
    UpstreamWav2Lip,
    inference_args,
    launcher_command,
    output_tail,
    upstream_box,
)
from lipsync_tool.errors import Cancelled, EngineError, EngineUnavailableError, ResourceError
from lipsync_tool.media.ffmpeg import find_ffmpeg
from lipsync_tool.media.probe import probe
from lipsync_tool.request import RenderRequest
from lipsync_tool.resources.repository import WAV2LIP_REPOSITORY, ensure_repository, repository_path
from lipsync_tool.resources.table import Resource

from .wav2lip_args import SPEC, load_parser

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

HERE = Path(__file__).parent
STANDIN = HERE / "data" / "wav2lip_standin"
HANG_ANCHOR = 'if mode == "crash":\n'
HANG_HOOK = """if mode == "hang":  # added by the tests: a long render that started a process of its own
    import time

    GRANDCHILD = (
        "import json, os, sys, time\\n"
        "with open(sys.argv[1] + '.tmp', 'w') as handle:\\n"
        "    json.dump({'inference': os.getppid(), 'grandchild': os.getpid()}, handle)\\n"
        "os.replace(sys.argv[1] + '.tmp', sys.argv[1])\\n"
        "time.sleep(600)\\n"
    )
    subprocess.Popen([sys.executable, "-c", GRANDCHILD, os.environ["STANDIN_PID_FILE"]])
    time.sleep(600)
    raise SystemExit(0)
"""
"""STANDIN_MODE=hang: inference.py starts a grandchild, which writes both pids as JSON to
$STANDIN_PID_FILE, and both sleep for ten minutes."""
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(file:// URL, commit) of a bare repo laid out like upstream Wav2Lip, with the stand-in inference.py."""
    root = tmp_path_factory.mktemp("standin")
    src = root / "src"
    for name in WAV2LIP_REPOSITORY.required_files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(f"# stand-in {name}\n")
    text = (STANDIN / "inference.py").read_text(encoding="utf-8")
    assert text.count(HANG_ANCHOR) == 1, "the stand-in inference.py changed"
    (src / "inference.py").write_text(
        text.replace(HANG_ANCHOR, HANG_HOOK + HANG_ANCHOR), encoding="utf-8"
    )
    shutil.copy(HERE / "wav2lip_args.py", src / "wav2lip_args.py")
    shutil.copy(SPEC, src / "wav2lip_inference_args.json")
    _git("init", "-q", cwd=src)
    _git("add", ".", cwd=src)
    _git("commit", "-q", "-m", "stand-in", cwd=src)
    commit = _git("rev-parse", "HEAD", cwd=src)
    _git("clone", "-q", "--bare", str(src), str(root / "bare.git"), cwd=root)
    return (root / "bare.git").as_uri(), commit


@pytest.fixture()
def engine_env(monkeypatch: pytest.MonkeyPatch, standin: tuple[str, str]) -> None:
    """The engine clones the stand-in (its commit pinned) and needs no extra packages."""
    monkeypatch.setenv(WAV2LIP_REPOSITORY.url_env, standin[0])
    monkeypatch.delenv("LIPSYNC_OFFLINE", raising=False)
    monkeypatch.delenv("STANDIN_MODE", raising=False)
    monkeypatch.setattr(
        UpstreamWav2Lip, "repository", replace(WAV2LIP_REPOSITORY, commit=standin[1])
    )
    monkeypatch.setattr(UpstreamWav2Lip, "requirements", ())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small pickled file standing in for a .pth checkpoint (the stand-in only checks it exists)."""
    torch = pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("ckpt") / "my.wav2lip.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    return path


def _job(
    tmp_path: Path, workdir: Path, options: Wav2LipOptions, audio: str = "speech.wav"
) -> EngineJob:
    portrait = np.asarray(Image.open(workdir / "grace_hopper.jpg").convert("RGB"))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    request = RenderRequest(
        portrait=workdir / "grace_hopper.jpg",
        audio=workdir / audio,
        output=tmp_path / "out.mp4",
        options=options,
    )
    return EngineJob(
        portrait_path=workdir / "grace_hopper.jpg",
        portrait=portrait,
        face=None,
        audio_path=workdir / audio,
        speech=None,
        frame_count=0,
        request=request,
        options=options,
        work_dir=work,
        mouth=None,
    )


def _upstream(checkpoint: Path, cache: Path) -> UpstreamWav2Lip:
    """The upstream runner with `checkpoint` (a Renderer's settings) and `cache`."""
    return UpstreamWav2Lip(
        Wav2LipSettings(impl="upstream", checkpoint=str(checkpoint)), EngineContext(cache)
    )


def _record(job: EngineJob) -> dict:
    return json.loads((job.work_dir / RUN_DIR / "standin_record.json").read_text())


def test_rebuilt_parser_has_upstreams_contract() -> None:
    parser = load_parser()
    ns = parser.parse_args(["--checkpoint_path", "c", "--face", "f.png", "--audio", "a.wav"])
    assert (ns.static, ns.fps, ns.pads, ns.box, ns.nosmooth, ns.outfile) == (
        False,
        25.0,
        [0, 10, 0, 0],
        [-1, -1, -1, -1],
        False,
        "results/result_voice.mp4",
    )
    assert (
        parser.parse_args(
            ["--checkpoint_path", "c", "--face", "f", "--audio", "a", "--static", "False"]
        ).static
        is True
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--face", "f", "--audio", "a"])  # --checkpoint_path is required


CASES: dict[str, tuple[dict[str, Any], list[str], dict[str, Any]]] = {
    "defaults": (
        {},
        [],
        {"static": True, "pads": [0, 10, 0, 0], "box": [-1, -1, -1, -1], "nosmooth": False},
    ),
    "crop_to_box": (
        {"crop": (10, 20, 110, 140)},
        ["--box", "20", "140", "10", "110"],
        {"box": [20, 140, 10, 110]},
    ),
    "crop_halved_by_resize": (
        {"crop": (10, 20, 111, 141), "resize_factor": 2},
        ["--box", "10", "70", "5", "55"],
        {"box": [10, 70, 5, 55], "resize_factor": 2},
    ),
    "no_static": ({"static": False}, [], {"static": False}),
    "pads_batches_nosmooth": (
        {"pads": (1, 2, 3, 4), "batch_size": 7, "face_det_batch_size": 3, "nosmooth": True},
        ["--nosmooth"],
        {"pads": [1, 2, 3, 4], "wav2lip_batch_size": 7, "face_det_batch_size": 3, "nosmooth": True},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_command_line_translates_every_option_and_parses_upstream(case: str) -> None:
    wav2lip, tail, expected = CASES[case]
    w = Wav2LipOptions(**wav2lip)
    args = inference_args(w, 30, "/c/ckpt.pth")
    static = [] if w.static is False else ["--static", "True"]
    assert args == [
        "--checkpoint_path",
        "/c/ckpt.pth",
        "--face",
        "face.png",
        "--audio",
        "speech.wav",
        "--outfile",
        "result.mp4",
        *static,
        "--fps",
        "30",
        "--pads",
        *map(str, w.pads),
        "--face_det_batch_size",
        str(w.face_det_batch_size),
        "--wav2lip_batch_size",
        str(w.batch_size or 128),
        "--resize_factor",
        str(w.resize_factor),
        *tail,
    ]
    parsed = vars(load_parser().parse_args(args))
    assert parsed["fps"] == 30.0 and parsed["face"].split(".")[1] == "png"
    for key, value in expected.items():
        assert parsed[key] == value, key


def test_upstream_box_is_top_bottom_left_right() -> None:
    assert upstream_box((1, 2, 3, 4)) == (2, 4, 1, 3)


def test_render_runs_inference_in_its_own_directory(
    tmp_path: Path, workdir: Path, engine_env: None, checkpoint: Path
) -> None:
    options = Wav2LipOptions(crop=(150, 100, 350, 300), pads=(0, 12, 0, 0), nosmooth=True)
    engine = _upstream(checkpoint, tmp_path / "cache")
    job = _job(tmp_path, workdir, options, audio="bursts.wav")  # 4.0 s: 321 mel frames
    clip = engine.render(job)
    run_dir = job.work_dir / RUN_DIR
    record = _record(job)
    assert record["argv"] == inference_args(options, job.request.fps, checkpoint)
    assert (
        record["cwd"] == str(run_dir)
        and record["temp_dir"]
        and record["is_image"]
        and record["checkpoint_exists"]
    )
    repo = repository_path(WAV2LIP_REPOSITORY, tmp_path / "cache")
    assert (
        Path(record["audio_module"]).resolve() == (repo / "audio.py").resolve()
    )  # the checkout, via PYTHONPATH
    assert (
        Path(record["ffmpeg"]).resolve() == Path(find_ffmpeg()).resolve()
    )  # our ffmpeg, on the child's PATH
    assert record["s3fd"] is None  # the crop gives the box: no detector fetched
    assert clip.path == run_dir / RESULT_AVI and (run_dir / "result.mp4").is_file()
    info = probe(find_ffmpeg(), clip.path)
    assert (info.video.width, info.video.height) == job.portrait.shape[1::-1]
    # the box landed where --wav2lip-crop X1 Y1 X2 Y2 = 150 100 350 300 says: the stand-in inverted it
    frame = _first_frame(clip.path, tmp_path)
    original = job.portrait.astype(int)
    inside = np.abs(frame[110:290, 160:340] - (255 - original[110:290, 160:340])).mean()
    outside = np.abs(frame[:90] - original[:90]).mean()
    assert inside < 12 and outside < 12
    assert set(job.clock.seconds) == {"setup", "inference"}
    # upstream's loop: windows at int(i * 80 / 25) for i < 96, then the last 16 frames: 97 frames, not 100
    assert _frame_count(clip.path) == 97


def _first_frame(clip: Path, tmp_path: Path) -> np.ndarray:
    png = tmp_path / "first.png"
    subprocess.run(
        [
            find_ffmpeg(),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(clip),
            "-frames:v",
            "1",
            str(png),
        ],
        check=True,
    )
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def _frame_count(clip: Path) -> int:
    report = subprocess.run(
        [
            find_ffmpeg(),
            "-nostdin",
            "-i",
            str(clip),
            "-map",
            "0:v",
            "-c",
            "copy",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return int(re.findall(r"frame=\s*(\d+)", report)[-1])


def test_crash_shows_upstreams_last_lines(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STANDIN_MODE", "crash")
    options = Wav2LipOptions(crop=(150, 100, 350, 300))
    with pytest.raises(EngineError) as caught:
        _upstream(checkpoint, tmp_path / "cache").render(_job(tmp_path, workdir, options))
    message = str(caught.value)
    assert "\n" not in message and "exit status 1" in message
    assert message.endswith(
        "ValueError: Face not detected! Ensure the video contains a face in all the frames."
    )


def test_missing_outfile_is_an_error_even_with_exit_status_0(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STANDIN_MODE", "no_outfile")
    options = Wav2LipOptions(crop=(150, 100, 350, 300))
    with pytest.raises(EngineError, match="exited 0 but wrote no result.mp4"):
        _upstream(checkpoint, tmp_path / "cache").render(_job(tmp_path, workdir, options))


def _ended(pid: int) -> bool:
    """Whether process `pid` has ended: gone, or a zombie waiting for a parent that does not reap it
    (an orphan's new parent, PID 1 in some sandboxes, may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def test_cancel_ends_the_child_and_its_process_group(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Renderer.render cancelled while upstream runs: the child and the process it started are ended,
    Cancelled is raised, and nothing is written."""
    from lipsync_tool.renderer import Renderer

    pid_file = tmp_path / "pids.json"
    monkeypatch.setenv("STANDIN_MODE", "hang")
    monkeypatch.setenv("STANDIN_PID_FILE", str(pid_file))
    renderer = Renderer(
        "wav2lip", cache_dir=tmp_path / "cache", impl="upstream", checkpoint=str(checkpoint)
    )
    out = tmp_path / "out"
    out.mkdir()
    request = RenderRequest(
        portrait=workdir / "grace_hopper.jpg",
        audio=workdir / "bursts.wav",
        output=out / "o.mp4",
        options={"crop": (150, 100, 350, 300)},
    )
    cancel = threading.Event()

    def cancel_once_both_run() -> None:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        cancel.set()

    canceller = threading.Thread(target=cancel_once_both_run, daemon=True)
    canceller.start()
    with pytest.raises(Cancelled):
        renderer.render(request, cancel=cancel)
    canceller.join()
    pids = json.loads(pid_file.read_text())
    assert pids["inference"] != pids["grandchild"]
    with pytest.raises(ProcessLookupError):  # the child itself was waited for
        os.kill(pids["inference"], 0)
    deadline = time.monotonic() + 10
    while not _ended(pids["grandchild"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ended(pids["grandchild"]), "the child's own child was ended with its group"
    assert list(out.iterdir()) == []


def test_detector_weights_are_fetched_and_linked_into_the_checkout(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "cache"
    payload = b"s3fd stand-in weights"
    entry = Resource(
        "s3fd.pth",
        "wav2lip",
        "http://127.0.0.1:9/never",
        "face_detection/detection/sfd/s3fd.pth",
        len(payload),
        hashlib.sha256(payload).hexdigest(),
        "test",
        "test",
    )
    stored = cache / "wav2lip" / entry.path
    stored.parent.mkdir(parents=True)
    stored.write_bytes(payload)  # already in the verified cache: no download
    monkeypatch.setattr(upstream, "resource", lambda name: entry)
    job = _job(tmp_path, workdir, Wav2LipOptions())
    _upstream(checkpoint, cache).render(job)
    assert _record(job)["s3fd"] == payload.hex()
    assert "--box" not in _record(job)["argv"]


def test_detector_weights_missing_offline_is_one_line(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = _upstream(checkpoint, tmp_path / "cache")
    ensure_repository(engine.repository, tmp_path / "cache")  # cloned while online
    monkeypatch.setenv("LIPSYNC_OFFLINE", "1")
    with pytest.raises(ResourceError) as caught:
        engine.render(_job(tmp_path, workdir, Wav2LipOptions()))
    message = str(caught.value)
    assert "\n" not in message and "s3fd.pth" in message and "offline mode" in message
    assert (
        str(tmp_path / "cache" / "wav2lip" / "face_detection" / "detection" / "sfd" / "s3fd.pth")
        in message
    )
    assert not (tmp_path / "work" / RUN_DIR / "standin_record.json").exists()


def test_missing_packages_name_the_fix(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        UpstreamWav2Lip, "requirements", (Requirement("lipsync_no_such_module", "librosa>=0.10"),)
    )
    options = Wav2LipOptions(crop=(150, 100, 350, 300))
    with pytest.raises(EngineUnavailableError, match=r"librosa>=0\.10.*--install-deps"):
        _upstream(checkpoint, tmp_path / "cache").render(_job(tmp_path, workdir, options))
    assert not repository_path(WAV2LIP_REPOSITORY, tmp_path / "cache").exists()


def test_plan_lists_clone_resources_and_command_without_doing_them(
    tmp_path: Path, engine_env: None, standin: tuple[str, str], checkpoint: Path
) -> None:
    request = RenderRequest(portrait="p.jpg", audio="a.wav", output="o.mp4")
    plan = _upstream(checkpoint, tmp_path / "cache").plan(request, Wav2LipOptions())
    repo = repository_path(WAV2LIP_REPOSITORY, tmp_path / "cache")
    assert plan.commands[0] == ("git", "init", "-q", str(repo))
    assert (
        "git",
        "-C",
        str(repo),
        "fetch",
        "--depth",
        "1",
        "--no-tags",
        standin[0],
        standin[1],
    ) in plan.commands
    assert plan.commands[-1] == tuple(
        launcher_command(
            repo / "inference.py",
            inference_args(Wav2LipOptions(), request.fps, checkpoint),
            checkpoint,
        )
    )
    assert plan.resources == ("s3fd.pth",)
    assert not (tmp_path / "cache").exists()


def test_output_tail_reads_tqdm_carriage_returns() -> None:
    assert (
        output_tail("a\n 10%|#\r 50%|#####\r\nValueError: x\n", lines=2)
        == "50%|##### | ValueError: x"
    )


@pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_torchscript_checkpoint_is_converted_to_a_pth_upstream_can_load(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from lipsync_tool.engine.wav2lip.checkpoint import Checkpoint
    from lipsync_tool.engine.wav2lip.model import Wav2LipGenerator

    torch.manual_seed(0)
    model = Wav2LipGenerator().eval()
    scripted = (
        tmp_path / "wav2lip_gan.pt"
    )  # the TorchScript files upstream's README links since 2025
    torch.jit.save(
        torch.jit.trace(model, (torch.zeros(1, 1, 80, 16), torch.zeros(1, 6, 96, 96))),
        str(scripted),
    )
    engine = _upstream(scripted, tmp_path / "cache")
    converted = engine._upstream_checkpoint(
        Checkpoint(scripted, trusted=True, label="wav2lip_gan.pt"), tmp_path
    )
    assert converted.path == tmp_path / "wav2lip_converted.pth" and not converted.trusted
    state = torch.load(converted.path, weights_only=True)[
        "state_dict"
    ]  # what upstream's _load + load_state_dict need
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    pickled = Checkpoint(tmp_path / "wav2lip.pth", trusted=True, label="wav2lip.pth")
    torch.save({"state_dict": {"w": torch.zeros(1)}}, pickled.path)
    assert (
        engine._upstream_checkpoint(pickled, tmp_path) is pickled
    )  # a pickled .pth is handed over as it is


def _cli_args(workdir: Path, checkpoint: Path, *extra: str) -> list[str]:
    return [
        str(workdir / "grace_hopper.jpg"),
        str(workdir / "bursts.wav"),
        str(workdir / "out.mp4"),
        "--engine",
        "wav2lip",
        "--wav2lip-impl",
        "upstream",
        "--wav2lip-checkpoint",
        str(checkpoint),
        "--wav2lip-crop",
        "150",
        "100",
        "350",
        "300",
        *extra,
    ]


def test_dry_run_prints_clone_and_command_without_running(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    standin: tuple[str, str],
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lipsync_tool.cli import main

    monkeypatch.setenv("LIPSYNC_CACHE_DIR", str(tmp_path / "cache"))
    assert main(_cli_args(workdir, checkpoint, "--dry-run")) == 0
    out = capsys.readouterr().out
    repo = repository_path(WAV2LIP_REPOSITORY, tmp_path / "cache")
    assert f"git init -q {repo}" in out
    assert f"git -C {repo} fetch --depth 1 --no-tags {standin[0]} {standin[1]}" in out
    assert (
        f"-m lipsync_tool.engine.wav2lip.upstream_launch --trust {checkpoint} {repo / 'inference.py'}"
        in out
    )
    assert "--box 100 300 150 350" in out and "--static True" in out
    assert "temp/result.avi -i " in out and "rawvideo" not in out, (
        "the final pass scales upstream's clip"
    )
    assert not (tmp_path / "cache").exists() and not (workdir / "out.mp4").exists()


def test_cli_render_scales_upstreams_clip_to_1080p(
    tmp_path: Path,
    workdir: Path,
    engine_env: None,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lipsync_tool.cli import main

    monkeypatch.setenv("LIPSYNC_CACHE_DIR", str(tmp_path / "cache"))
    assert main(_cli_args(workdir, checkpoint)) == 0
    info = probe(find_ffmpeg(), workdir / "out.mp4")
    assert info.video.height == 1080 and info.video.codec == "h264" and info.audio is not None
    assert abs(info.duration - 4.0) < 0.1


LAUNCHER_PROBE = """
import argparse, json, sys
import cv2, torch
result = {"argv": sys.argv[1:], "cv2_rotate": cv2.cv2.ROTATE_90_CLOCKWISE == cv2.ROTATE_90_CLOCKWISE}
result["trusted"] = sorted(torch.load(sys.argv[1]))
try:
    torch.load(sys.argv[2])
    result["untrusted"] = "loaded"
except Exception as exc:
    result["untrusted"] = type(exc).__name__
try:
    import librosa, librosa.filters, numpy as np
    basis = librosa.filters.mel(16000, 800, n_mels=80, fmin=55, fmax=7600)  # upstream's positional call
    y = np.random.default_rng(0).normal(size=1600).astype(np.float32)
    same = np.allclose(librosa.stft(y=y, n_fft=800, hop_length=200, win_length=800),
                       librosa.stft(y=y, n_fft=800, hop_length=200, win_length=800, pad_mode="reflect"))
    result["librosa"] = [list(basis.shape), bool(same)]
except ImportError:
    result["librosa"] = None
print(json.dumps(result))
"""


def test_launcher_fixes_what_current_libraries_broke(tmp_path: Path) -> None:
    """cv2.cv2, torch.load (full unpickling only for --trust), librosa's positional mel and reflect STFT padding."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("cv2")
    payload = {
        "state_dict": {"w": torch.zeros(1)},
        "args": argparse.Namespace(lr=1e-4),
    }  # not weights_only-safe
    trusted, untrusted = tmp_path / "trusted.pth", tmp_path / "untrusted.pth"
    torch.save(payload, trusted)
    torch.save(payload, untrusted)
    script = tmp_path / "probe.py"
    script.write_text(LAUNCHER_PROBE)
    proc = subprocess.run(
        [*launcher_command(script, [str(trusted), str(untrusted)], trusted)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["argv"] == [
        str(trusted),
        str(untrusted),
    ]  # inference.py sees its own arguments only
    assert result["cv2_rotate"] is True
    assert result["trusted"] == ["args", "state_dict"]
    assert result["untrusted"] == "UnpicklingError"  # weights_only stays on for anything else
    if result["librosa"] is not None:
        assert result["librosa"] == [[80, 401], True]
    assert "fixes applied:" in proc.stderr


@pytest.mark.smoke
@pytest.mark.skipif(
    not os.environ.get(WAV2LIP_REPOSITORY.url_env),
    reason=f"set {WAV2LIP_REPOSITORY.url_env} to a clone of "
    "Rudrabha/Wav2Lip (e.g. file:///work/.mirror/Rudrabha+Wav2Lip/repo) to run the real inference.py",
)
def test_real_upstream_inference_renders_1080p(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The REAL pinned inference.py (needs librosa), a checkpoint in the official layout, the box given by hand."""
    pytest.importorskip("torch")
    pytest.importorskip("librosa")
    from lipsync_tool import render

    from .wav2lip_helpers import write_official_checkpoint

    checkpoint = write_official_checkpoint(tmp_path / "official_layout.pth")
    monkeypatch.delenv("LIPSYNC_OFFLINE", raising=False)
    crop = (
        164,
        137,
        367,
        349,
    )  # grace_hopper's MediaPipe face box, 10 px more below (no s3fd weights offline)
    result = render(
        workdir / "grace_hopper.jpg",
        workdir / "bursts.wav",
        tmp_path / "out.mp4",
        engine="wav2lip",
        cache_dir=tmp_path / "cache",
        keep_temp=True,
        impl="upstream",
        checkpoint=str(checkpoint),
        options={"crop": crop},
    )
    assert result.frame_size[1] == 1080 and result.render_size == (512, 600)
    assert probe(find_ffmpeg(), result.output).audio is not None
    assert result.temp_dir is not None
    frame = _first_frame(result.temp_dir / RUN_DIR / RESULT_AVI, tmp_path)
    original = np.asarray(Image.open(workdir / "grace_hopper.jpg").convert("RGB")).astype(int)
    x1, y1, x2, y2 = crop
    inside = np.abs(frame[y1:y2, x1:x2] - original[y1:y2, x1:x2]).mean()
    mask = np.ones(frame.shape[:2], bool)
    mask[y1:y2, x1:x2] = False
    outside = np.abs(frame - original)[mask].mean()
    # a hard paste: outside the box only the DIVX codec's noise (~2.6), inside the generator's face (~57)
    assert outside < 5 and inside > 5 * outside
    shutil.rmtree(result.temp_dir, ignore_errors=True)
