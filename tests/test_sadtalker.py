"""The sadtalker engine's parts: flag translation (checked against upstream's rebuilt parser), the result layout,
failure classification, the files each job needs and where they appear, the isolated environment's build steps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lipsync_tool.engine.sadtalker import environment as environment_module
from lipsync_tool.engine.sadtalker.command import inference_command, job_paths
from lipsync_tool.engine.sadtalker.environment import (
    MARKER,
    DependencySet,
    SadTalkerEnvironment,
    cuda_usable,
    site_packages,
)
from lipsync_tool.engine.sadtalker.options import SadTalkerOptions
from lipsync_tool.engine.sadtalker.results import find_result
from lipsync_tool.engine.sadtalker.runner import RunOutput, failure, run_inference
from lipsync_tool.engine.sadtalker.weights import link_weights, needed_names
from lipsync_tool.errors import EngineError, EngineUnavailableError, InputError, ResourceError
from lipsync_tool.request import RenderRequest

from .sadtalker_args import load_parser
from .sadtalker_helpers import TINY_DEPENDENCIES, make_wheelhouse, offline_pip_env, ready_venv

PY = Path("/venv/bin/python")
CHECKOUT = Path("/cache/sadtalker/repo")
CKPT = Path("/cache/sadtalker/checkpoints")
PATHS = job_paths(Path("/work"))
HEAD = [
    str(PY),
    str(CHECKOUT / "inference.py"),
    "--driven_audio",
    "/work/sadtalker/speech.wav",
    "--source_image",
    "/work/sadtalker/source.png",
    "--result_dir",
    "/work/sadtalker/results",
    "--checkpoint_dir",
    str(CKPT),
]


def request(**fields: object) -> RenderRequest:
    """A request carrying the per-request fields the sadtalker command reads (expression_scale, still)."""
    return RenderRequest(portrait="p.jpg", audio="a.wav", output="o.mp4", **fields)


@pytest.mark.parametrize(
    ("options", "render", "cuda", "tail"),
    [
        (
            SadTalkerOptions(),
            request(),
            False,
            [
                "--size",
                "256",
                "--preprocess",
                "crop",
                "--expression_scale",
                "1",
                "--still",
                "--batch_size",
                "2",
                "--cpu",
            ],
        ),
        (
            SadTalkerOptions(resolution=512, preprocess="full", enhancer="gfpgan"),
            request(),
            True,
            [
                "--size",
                "512",
                "--preprocess",
                "full",
                "--expression_scale",
                "1",
                "--still",
                "--enhancer",
                "gfpgan",
                "--batch_size",
                "2",
            ],
        ),
        (
            SadTalkerOptions(preprocess="extreme_crop", batch_size=1),
            request(still=False, expression_scale=1.25),
            False,
            [
                "--size",
                "256",
                "--preprocess",
                "extcrop",
                "--expression_scale",
                "1.25",
                "--batch_size",
                "1",
                "--cpu",
            ],
        ),
        (
            SadTalkerOptions(preprocess="extfull", resolution=512),
            request(),
            True,
            [
                "--size",
                "512",
                "--preprocess",
                "extfull",
                "--expression_scale",
                "1",
                "--still",
                "--batch_size",
                "2",
            ],
        ),
    ],
)
def test_exact_command_line_and_upstream_parses_it(
    options: SadTalkerOptions, render: RenderRequest, cuda: bool, tail: list[str]
) -> None:
    command = inference_command(
        PY,
        CHECKOUT,
        CKPT,
        PATHS,
        options,
        expression_scale=render.expression_scale,
        still=render.still,
        cuda=cuda,
    )
    assert list(command) == HEAD + tail
    args = load_parser().parse_args(list(command[2:]))
    assert args.size == options.resolution and args.preprocess == options.upstream_preprocess
    assert (
        args.still is render.still
        and args.cpu is (not cuda)
        and args.batch_size == options.batch_size
    )
    assert (
        args.expression_scale == pytest.approx(render.expression_scale)
        and args.enhancer == options.enhancer
    )
    assert args.result_dir == str(PATHS.result_dir) and args.checkpoint_dir == str(CKPT)


def test_batch_size_is_validated() -> None:
    with pytest.raises(InputError, match="--sadtalker-batch-size"):
        SadTalkerOptions(batch_size=0)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (SadTalkerOptions(), {"SadTalker_V0.0.2_256.safetensors", "mapping_00229-model.pth.tar"}),
        (
            SadTalkerOptions(resolution=512, preprocess="full"),
            {"SadTalker_V0.0.2_512.safetensors", "mapping_00109-model.pth.tar"},
        ),
        (
            SadTalkerOptions(preprocess="extfull", enhancer="gfpgan"),
            {
                "SadTalker_V0.0.2_256.safetensors",
                "mapping_00109-model.pth.tar",
                "GFPGANv1.4.pth",
                "parsing_parsenet.pth",
            },
        ),
        (
            SadTalkerOptions(preprocess="extreme_crop"),
            {"SadTalker_V0.0.2_256.safetensors", "mapping_00229-model.pth.tar"},
        ),
    ],
)
def test_only_the_files_the_job_needs(options: SadTalkerOptions, expected: set[str]) -> None:
    assert set(needed_names(options)) == expected | {
        "detection_Resnet50_Final.pth",
        "alignment_WFLW_4HG.pth",
    }


def test_restoreformer_is_refused_clearly(tmp_path: Path) -> None:
    from lipsync_tool.engine.base import EngineContext, NoOptions
    from lipsync_tool.engine.sadtalker.engine import SadTalkerEngine

    engine = SadTalkerEngine(NoOptions(), EngineContext(tmp_path))
    with pytest.raises(InputError, match="RestoreFormer.*--enhancer gfpgan"):
        engine.resources(SadTalkerOptions(enhancer="RestoreFormer"))


def test_weights_are_linked_into_the_checkout_and_relinked(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    files = {
        name: store / name for name in ("detection_Resnet50_Final.pth", "alignment_WFLW_4HG.pth")
    }
    for name, path in files.items():
        path.write_text(name)
    checkout = tmp_path / "repo"
    links = link_weights(checkout, files)
    assert [p.read_text() for p in links] == list(files)
    assert all(p.parent == checkout / "gfpgan" / "weights" for p in links)
    links[0].unlink()
    links[0].write_text("stale copy")
    link_weights(checkout, files)
    assert links[0].read_text() == "detection_Resnet50_Final.pth"


def _touch(path: Path, text: str = "mp4") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_result_announced_or_found_in_the_timestamp_layout(tmp_path: Path) -> None:
    results = tmp_path / "results"
    clip = _touch(results / "2026_01_02_03.04.05.mp4")
    assert find_result(results, [f"The generated video is named: {clip}"]) == clip
    assert find_result(results, []) == clip
    assert find_result(results, ["The generated video is named: gone.mp4"]) == clip
    clip.unlink()
    assert find_result(results, []) is None
    folder = results / "2026_01_02_03.04.05"
    _touch(folder / "temp_a##b.mp4")
    _touch(folder / "a##b.mp4")
    full = _touch(folder / "a##b_full.mp4")
    assert find_result(results, []) == full
    enhanced = _touch(folder / "a##b_enhanced.mp4")
    assert find_result(results, []) == enhanced
    _touch(results / "2026_01_02_03.04.06.mp4", "")  # empty: not a result
    assert find_result(results, []) == enhanced


def _output(returncode: int, stderr: list[str], stdout: list[str] = ()) -> RunOutput:
    output = RunOutput(returncode, list(stdout))
    output.stderr_tail.extend(stderr)
    return output


@pytest.mark.parametrize(
    ("stderr", "stdout", "code", "kind", "pattern"),
    [
        (
            ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB"],
            [],
            1,
            EngineError,
            "out of GPU memory; try --resolution 256 and/or --sadtalker-batch-size 1",
        ),
        (
            ["OSError: [Errno 28] No space left on device"],
            [],
            1,
            ResourceError,
            "disk full.*/work.*1 GB free",
        ),
        ([], ["Can't get the coeffs of the input"], 0, EngineError, "no face"),
        (["TypeError: exceptions must derive from BaseException"], [], 1, EngineError, "no face"),
        (
            [f"line {i}" for i in range(30)],
            [],
            3,
            EngineError,
            r"exit status 3.*line 10 \| .*line 29$",
        ),
        (["all went well, I think"], [], 0, EngineError, "without producing a video"),
    ],
)
def test_failures_are_named(
    stderr: list[str], stdout: list[str], code: int, kind: type, pattern: str
) -> None:
    error = failure(_output(code, stderr, stdout), "(test)", Path("/work"), Path("/repo"))
    assert type(error) is kind
    assert "\n" not in str(error)
    assert __import__("re").search(pattern, str(error))
    if code == 3:
        assert "line 9 " not in str(error)  # only the last 20 lines


def test_runner_streams_logs_and_turns_tqdm_into_progress(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = (
        "import sys\nprint('3DMM Extraction for source image', flush=True)\n"
        "sys.stderr.write('landmark Det:: 100%|#| 1/1 [00:00<00:00]\\n')\n"
        "for i in range(1, 4):\n    sys.stderr.write(f'Face Renderer:: {i*33}%|#| {i}/3 [00:00<00:00]\\r')\n"
        "sys.stderr.write('\\nwarning: something\\n')\n"
    )
    seen: list[tuple[str, int, int | None]] = []
    with caplog.at_level("DEBUG", logger="lipsync_tool.engine.sadtalker.runner"):
        output = run_inference(
            [sys.executable, "-c", script],
            tmp_path,
            dict(os.environ),
            lambda stage, done, total: seen.append((stage, done, total)),
        )
    assert output.returncode == 0 and output.stdout == ["3DMM Extraction for source image"]
    assert seen == [
        ("sadtalker landmark Det", 1, 1),
        ("render", 1, 3),
        ("render", 2, 3),
        ("render", 3, 3),
    ]
    assert list(output.stderr_tail) == ["warning: something"]
    assert (
        "sadtalker stdout: 3DMM Extraction" in caplog.text
        and "sadtalker stderr: warning" in caplog.text
    )


def test_cuda_detection_reads_the_venv_torch_build(tmp_path: Path) -> None:
    version = site_packages(tmp_path) / "torch" / "version.py"
    _touch(version, "__version__ = '2.13.0+cpu'\ncuda: Optional[str] = None\n")
    assert not cuda_usable(tmp_path, {})
    version.write_text("__version__ = '2.13.0'\ncuda: Optional[str] = '13.0'\n")
    driver = Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()
    assert cuda_usable(tmp_path, {}) is driver
    assert not cuda_usable(tmp_path, {"CUDA_VISIBLE_DEVICES": ""})


def test_environment_build_steps_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheelhouse = make_wheelhouse(tmp_path / "wheels")
    environ = offline_pip_env(wheelhouse, dict(os.environ))
    env = SadTalkerEnvironment(tmp_path / "venv", TINY_DEPENDENCIES, environ=environ)
    with pytest.raises(EngineUnavailableError, match="--install-deps"):
        env.ensure(install=False)
    commands = env.build_commands(env.path)
    python_path = str(env.python)
    assert commands[0] == (os.sys.executable, "-m", "venv", "--without-pip", str(env.path))
    assert commands[1][:6] == (os.sys.executable, "-m", "pip", "--python", python_path, "install")
    assert commands[1][-2:] == TINY_DEPENDENCIES.packages
    assert commands[2][-3:] == ("--no-deps", "--no-build-isolation", "standin-nodeps==1.0")
    python = env.ensure(install=True)
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, standin_dep, standin_nodeps\n"
            "from torchvision.transforms.functional_tensor import rgb_to_grayscale\n"
            "print(sys.prefix, standin_dep.VALUE, standin_nodeps.VALUE, rgb_to_grayscale(1))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == [str(env.path), "dep", "nodeps", "('gray',", "1)"]
    marker = json.loads((env.path / MARKER).read_text())
    assert (
        marker["packages"] == list(TINY_DEPENDENCIES.packages)
        and marker["environment_version"] >= 1
    )
    assert not list(tmp_path.glob(".venv-*"))  # built beside, renamed into place
    monkeypatch.setattr(environment_module.subprocess, "Popen", _forbidden)
    assert env.ensure(install=True) == python  # second run: a no-op
    changed = SadTalkerEnvironment(
        env.path, DependencySet(("standin-dep==1.0",), ()), environ=environ
    )
    assert "another dependency set" in (changed.problem() or "")


def _forbidden(*args: object, **kwargs: object) -> None:
    raise AssertionError("no subprocess may run here")


def test_environment_build_failure_names_pip_error(tmp_path: Path) -> None:
    wheelhouse = make_wheelhouse(tmp_path / "wheels")
    env = SadTalkerEnvironment(
        tmp_path / "venv",
        DependencySet(("no-such-package==9",), (), disk_bytes=1),
        environ=offline_pip_env(wheelhouse, dict(os.environ)),
    )
    with pytest.raises(
        EngineUnavailableError,
        match="building the sadtalker environment in .* failed at `pip install`.*no-such-package",
    ):
        env.ensure(install=True)
    assert not env.path.exists() and not list(tmp_path.glob(".venv-*"))


def test_environment_needs_disk_space(tmp_path: Path) -> None:
    env = SadTalkerEnvironment(tmp_path / "venv", DependencySet(("x",), (), disk_bytes=10**18))
    with pytest.raises(
        ResourceError, match=r"disk full: .* needs about 1000000000\.0 GB free in " + str(tmp_path)
    ):
        env.ensure(install=True)


def test_ready_venv_helper_is_reused(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp() / "sadtalker-session"
    venv = ready_venv(base)
    assert (venv / MARKER).is_file()


def test_an_interrupted_run_leaves_no_child_rendering(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    script = (
        "import sys, time\nsys.stderr.write('Face Renderer:: 0%| | 0/9 [00:00<?]\\r'); sys.stderr.flush()\n"
        f"time.sleep(1.0)\nopen({str(marker)!r}, 'w').close()\n"
    )

    def interrupt(stage: str, done: int, total: int | None) -> None:
        # Ctrl-C: SIGINT to us, raised as KeyboardInterrupt in the main thread waiting on the child
        # (progress is reported from the thread reading the child's stderr).
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        run_inference([sys.executable, "-c", script], tmp_path, dict(os.environ), interrupt)
    import time

    time.sleep(1.5)
    assert not marker.exists()


def test_a_failing_progress_callback_ends_the_run_and_reaches_the_caller(tmp_path: Path) -> None:
    """Progress comes from the stderr reader thread; what the callback raises is re-raised here."""
    import time

    marker = tmp_path / "still-running"
    script = (
        "import sys, time\n"
        "for i in range(3):\n"
        "    sys.stderr.write(f'Face Renderer:: {i}%| | {i}/9 [00:00<?]\\n'); sys.stderr.flush()\n"
        f"time.sleep(1.0)\nopen({str(marker)!r}, 'w').close()\n"
    )
    calls: list[int] = []

    def broken(stage: str, done: int, total: int | None) -> None:
        calls.append(done)
        raise RuntimeError("progress display failed")

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="progress display failed"):
        run_inference([sys.executable, "-c", script], tmp_path, dict(os.environ), broken)
    assert time.monotonic() - start < 1.0, "the child was ended, not waited for"
    time.sleep(1.5)
    assert not marker.exists() and calls == [0], "called once, then the run stopped"
