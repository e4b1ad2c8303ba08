"""The sadtalker engine end to end against stand-ins: a local bare repository with an inference.py that implements
upstream's command-line contract and result layout, checkpoints from a local HTTP server, a ready venv built by our
own builder from tiny wheels. Exact command lines, file placement, each failure message, no network on a warm cache,
--dry-run, the CLI's 1080p output, and cancellation (upstream and what it started end; nothing is left)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.control import ProgressCallback, StageClock, no_progress
from lipsync_tool.engine.base import EngineContext, EngineJob, NoOptions
from lipsync_tool.engine.sadtalker import engine as engine_module
from lipsync_tool.engine.sadtalker import weights as weights_module
from lipsync_tool.engine.sadtalker.engine import SadTalkerEngine
from lipsync_tool.engine.sadtalker.options import SadTalkerOptions
from lipsync_tool.engine.sadtalker.weights import needed_names
from lipsync_tool.errors import Cancelled, EngineError, ResourceError
from lipsync_tool.media.ffmpeg import find_ffmpeg
from lipsync_tool.media.probe import probe
from lipsync_tool.request import RenderRequest
from lipsync_tool.resources.repository import repository_path

from .conftest import speech_like, write_wav
from .sadtalker_helpers import (
    HANG_VARIABLE,
    FileServer,
    fake_resources,
    link_ready_venv,
    make_upstream,
    make_wheelhouse,
    offline_pip_env,
    ready_venv,
    test_setup,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return make_upstream(tmp_path_factory.mktemp("sadtalker-upstream"))


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ready_venv(tmp_path_factory.getbasetemp() / "sadtalker-session")


@pytest.fixture()
def server() -> Iterator[FileServer]:
    files = fake_resources("http://unused")[1]
    served = FileServer(files)
    yield served
    served.close()


@pytest.fixture()
def cache(tmp_path: Path, venv: Path) -> Path:
    cache_dir = tmp_path / "cache"
    link_ready_venv(cache_dir, venv)
    return cache_dir


def make_engine(
    cache: Path,
    upstream: tuple[Path, str],
    server_url: str,
    environ: dict[str, str] | None = None,
    missing: tuple[str, ...] = (),
    install_deps: bool = False,
) -> SadTalkerEngine:
    bare, commit = upstream
    resources, _ = fake_resources(server_url, missing)
    base = {k: v for k, v in os.environ.items() if k != "LIPSYNC_OFFLINE"}
    env = {**base, "LIPSYNC_SADTALKER_REPO_URL": bare.as_uri(), **(environ or {})}
    return SadTalkerEngine(
        NoOptions(),
        EngineContext(cache, install_deps=install_deps),
        setup=test_setup(bare, commit, resources),
        environ=env,
    )


def make_job(
    folder: Path,
    options: SadTalkerOptions,
    seconds: float = 1.0,
    *,
    request: dict[str, Any] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: threading.Event | None = None,
) -> EngineJob:
    """A job of `seconds` of speech; `request` holds RenderRequest fields (expression_scale, still)."""
    work = folder / "work"
    work.mkdir(parents=True)
    audio = write_wav(work / "speech_for_mux.wav", speech_like(seconds, [(0.1, seconds - 0.1)]))
    portrait = np.zeros((96, 80, 3), np.uint8)
    portrait[20:70, 20:60] = (200, 150, 120)
    return EngineJob(
        portrait_path=folder / "p.jpg",
        portrait=portrait,
        face=None,
        audio_path=audio,
        speech=None,
        frame_count=int(seconds * 25),
        request=RenderRequest(
            portrait=folder / "p.jpg", audio=audio, output=folder / "out.mp4", **(request or {})
        ),
        options=options,
        work_dir=work,
        mouth=None,
        progress=progress,
        cancel=cancel,
        clock=StageClock(),
    )


ENGINE_STAGES = {"environment", "checkout", "weights", "inputs", "inference", "result"}


def render(
    engine: SadTalkerEngine,
    folder: Path,
    options: SadTalkerOptions,
    record: Path,
    request: dict[str, Any] | None = None,
) -> tuple[Path, dict]:
    engine.environ["SADTALKER_STANDIN_RECORD"] = str(record)
    seen: list[tuple[str, int, int | None]] = []
    job = make_job(
        folder,
        options,
        request=request,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    clip = engine.render(job)
    assert ("render", 25, 25) in seen
    assert set(job.clock.seconds) == ENGINE_STAGES  # this render's steps, timed in its job
    return clip.path, json.loads(record.read_text())


@pytest.mark.parametrize(
    ("install_deps", "options", "fields"),
    [
        (True, SadTalkerOptions(), {}),
        (
            False,
            SadTalkerOptions(resolution=512, preprocess="full", enhancer="gfpgan", batch_size=4),
            {"still": False, "expression_scale": 1.5},
        ),
    ],
)
def test_render_runs_the_upstream_contract(
    install_deps: bool,
    options: SadTalkerOptions,
    fields: dict[str, Any],
    tmp_path: Path,
    cache: Path,
    upstream: tuple[Path, str],
    server: FileServer,
) -> None:
    engine = make_engine(cache, upstream, server.url, install_deps=install_deps)
    clip, record = render(engine, tmp_path, options, tmp_path / "record.json", fields)
    request = RenderRequest(portrait="p.jpg", audio="a.wav", output="o.mp4", **fields)
    checkout = repository_path(engine.setup.repository, cache)
    work = tmp_path / "work" / "sadtalker"
    expected = [
        str(engine.environment.python),
        str(checkout / "inference.py"),
        "--driven_audio",
        str(work / "speech.wav"),
        "--source_image",
        str(work / "source.png"),
        "--result_dir",
        str(work / "results"),
        "--checkpoint_dir",
        str(cache / "sadtalker" / "checkpoints"),
        "--size",
        str(options.resolution),
        "--preprocess",
        options.upstream_preprocess,
        "--expression_scale",
        f"{request.expression_scale:g}",
        *(["--still"] if request.still else []),
        *(["--enhancer", options.enhancer] if options.enhancer else []),
        "--batch_size",
        str(options.batch_size),
        "--cpu",
    ]
    assert [engine.environment.python.as_posix(), *record["argv"]] == expected
    assert record["cwd"] == str(checkout)
    assert Path(record["ffmpeg"]).resolve() == Path(find_ffmpeg()).resolve()
    assert sorted(p.lstrip("/") for p in server.requests) == sorted(needed_names(options))
    assert clip.parent == work / "results" and clip.suffix == ".mp4"
    info = probe(find_ffmpeg(), clip)
    assert (info.video.width, info.video.height) == (options.resolution, options.resolution)
    assert Image.open(work / "source.png").size == (80, 96)
    for name in needed_names(options):
        if name.endswith(".pth") and "mapping" not in name:
            assert (
                (checkout / "gfpgan" / "weights" / name)
                .read_bytes()
                .startswith(b"fake " + name.encode())
            )


def test_second_run_makes_no_network_request_and_calls_no_git(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = SadTalkerOptions()
    render(
        make_engine(cache, upstream, server.url),
        tmp_path / "first",
        options,
        tmp_path / "r1.json",
    )
    first = len(server.requests)
    assert first == 4
    server.close()
    empty = tmp_path / "empty-path"
    empty.mkdir()
    warm = make_engine(
        cache,
        upstream,
        server.url,
        {"PATH": str(empty), "LIPSYNC_SADTALKER_REPO_URL": "file:///nonexistent/repo.git"},
    )
    clip, _ = render(warm, tmp_path / "second", options, tmp_path / "r2.json")
    assert clip.is_file() and len(server.requests) == first


def test_a_broken_checkout_is_cloned_again_and_relinked(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = SadTalkerOptions()
    engine = make_engine(cache, upstream, server.url)
    render(engine, tmp_path / "first", options, tmp_path / "r1.json")
    checkout = repository_path(engine.setup.repository, cache)
    (checkout / "src" / "facerender" / "animate.py").unlink()  # a damaged checkout
    clip, record = render(engine, tmp_path / "second", options, tmp_path / "r2.json")
    assert clip.is_file() and (checkout / "src" / "facerender" / "animate.py").is_file()
    assert (checkout / "gfpgan" / "weights" / "detection_Resnet50_Final.pth").is_file()
    assert len(server.requests) == 4  # the model files were not fetched again


@pytest.mark.parametrize(
    ("mode", "kind", "pattern"),
    [
        ("noface", EngineError, "found no face.*Can't get the coeffs"),
        (
            "oom",
            EngineError,
            "out of GPU memory; try --resolution 256 and/or --sadtalker-batch-size 1",
        ),
        ("enospc", ResourceError, "disk full while SadTalker was rendering"),
        (
            "crash",
            EngineError,
            r"SadTalker failed \(exit status 1\).*crash line 7 \|.*ValueError: stand-in crash$",
        ),
    ],
)
def test_upstream_failures_are_one_clear_line(
    mode: str,
    kind: type,
    pattern: str,
    tmp_path: Path,
    cache: Path,
    upstream: tuple[Path, str],
    server: FileServer,
) -> None:
    options = SadTalkerOptions()
    engine = make_engine(cache, upstream, server.url, {"SADTALKER_STANDIN_MODE": mode})
    with pytest.raises(kind) as caught:
        engine.render(make_job(tmp_path, options))
    message = str(caught.value)
    assert "\n" not in message and __import__("re").search(pattern, message), message
    if mode == "crash":
        assert "crash line 6 " not in message  # the last 20 stderr lines only


def test_checkpoint_404_and_unreachable_server(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = SadTalkerOptions()
    engine = make_engine(cache, upstream, server.url, missing=("alignment_WFLW_4HG.pth",))
    server.files.pop("alignment_WFLW_4HG.pth")
    with pytest.raises(ResourceError, match="alignment_WFLW_4HG.pth.*HTTP 404"):
        engine.render(make_job(tmp_path / "a", options))
    closed = make_engine(cache, upstream, "http://127.0.0.1:9")
    with pytest.raises(
        ResourceError, match="missing and the network cannot be reached: .*alignment_WFLW_4HG.pth"
    ):
        closed.render(make_job(tmp_path / "b", options))


def test_git_missing_and_clone_failure(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = SadTalkerOptions()
    empty = tmp_path / "empty-path"
    empty.mkdir()
    engine = make_engine(cache, upstream, server.url, {"PATH": str(empty)})
    with pytest.raises(ResourceError, match="git is not installed"):
        engine.render(make_job(tmp_path / "a", options))
    bogus = make_engine(
        cache,
        upstream,
        server.url,
        {"LIPSYNC_SADTALKER_REPO_URL": (tmp_path / "nowhere.git").as_uri()},
    )
    with pytest.raises(ResourceError, match="could not .*git says"):
        bogus.render(make_job(tmp_path / "b", options))
    assert server.requests == []


def test_disk_full_before_fetching(
    tmp_path: Path,
    cache: Path,
    upstream: tuple[Path, str],
    server: FileServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = SadTalkerOptions()
    engine = make_engine(cache, upstream, server.url)
    monkeypatch.setattr(
        weights_module.shutil,
        "disk_usage",
        lambda path: shutil._ntuple_diskusage(10**9, 10**9, 100),
    )
    with pytest.raises(
        ResourceError, match=r"disk full: .* need 0\.00 GB in .*cache/sadtalker, only 0\.00 GB"
    ):
        engine.render(make_job(tmp_path, options))
    assert server.requests == []


def _cli_files(tmp_path: Path) -> tuple[Path, Path]:
    import skimage.data

    portrait = tmp_path / "portrait.jpg"
    Image.fromarray(skimage.data.astronaut()).save(portrait)
    return portrait, write_wav(tmp_path / "speech.wav", speech_like(1.2, [(0.1, 1.1)]))


@pytest.fixture()
def cli_setup(
    tmp_path: Path, upstream: tuple[Path, str], server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    bare, commit = upstream
    monkeypatch.setattr(
        engine_module,
        "default_setup",
        lambda: test_setup(bare, commit, fake_resources(server.url)[0]),
    )
    monkeypatch.setenv("LIPSYNC_SADTALKER_REPO_URL", bare.as_uri())
    monkeypatch.delenv("LIPSYNC_OFFLINE", raising=False)
    return tmp_path / "cache"


def test_cli_needs_install_deps_for_the_environment(
    tmp_path: Path, cli_setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipsync_tool.cli import main

    portrait, speech = _cli_files(tmp_path)
    code = main(
        [
            str(portrait),
            str(speech),
            str(tmp_path / "out.mp4"),
            "--engine",
            "sadtalker",
            "--cache-dir",
            str(cli_setup),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        code == 2
        and len(err) == 1
        and err[0].startswith("error: ")
        and "pass --install-deps" in err[0]
    )
    assert not (tmp_path / "out.mp4").exists()


def test_cli_dry_run_prints_the_plan_and_runs_nothing(
    tmp_path: Path, cli_setup: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipsync_tool.cli import main

    portrait, speech = _cli_files(tmp_path)
    code = main(
        [
            str(portrait),
            str(speech),
            str(tmp_path / "out.mp4"),
            "--engine",
            "sadtalker",
            "--dry-run",
            "--cache-dir",
            str(cli_setup),
            "--resolution",
            "512",
            "--preprocess",
            "extreme_crop",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "SadTalker_V0.0.2_512.safetensors, mapping_00229-model.pth.tar" in out
    assert (
        "git -C " in out
        and " fetch --depth 1 " in out
        and "-m venv " in out
        and "--no-build-isolation" in out
    )
    assert "pass --install-deps" in out
    assert (
        "inference.py --driven_audio <work-dir>/sadtalker/speech.wav --source_image <work-dir>/sadtalker/source.png "
        "--result_dir <work-dir>/sadtalker/results --checkpoint_dir "
    ) in out
    assert (
        "--size 512 --preprocess extcrop --expression_scale 1 --still --batch_size 2 --cpu" in out
    )
    assert "-i <work-dir>/sadtalker/results/<timestamp>.mp4 " in out, (
        "the final pass scales upstream's clip"
    )
    assert "rawvideo" not in out, "no frames are piped for an engine that writes a clip"
    assert server.requests == [] and not (cli_setup / "sadtalker" / "repo").exists()


def test_cli_renders_the_upscaled_1080p_file(
    tmp_path: Path, cli_setup: Path, venv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipsync_tool.cli import main

    link_ready_venv(cli_setup, venv)
    portrait, speech = _cli_files(tmp_path)
    output = tmp_path / "out.mp4"
    code = main(
        [
            str(portrait),
            str(speech),
            str(output),
            "--engine",
            "sadtalker",
            "--cache-dir",
            str(cli_setup),
            "--preprocess",
            "full",
        ]
    )
    assert code == 0, capsys.readouterr().err
    info = probe(find_ffmpeg(), output)
    assert info.video.height == 1080 and info.audio is not None
    assert info.duration == pytest.approx(1.2, abs=0.1)


def test_the_learned_upscaler_enlarges_the_clip_upstream_wrote(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    """With --upscaler realesrgan the engine hands over its 256 px frames enlarged to 1080 lines
    (decoded, enlarged and piped to the encoder) instead of a clip for ffmpeg to scale."""
    from lipsync_tool.engine.base import FrameStream

    from .upscale_helpers import require_upscaler

    require_upscaler()
    engine = make_engine(cache, upstream, server.url)
    engine.environ["SADTALKER_STANDIN_RECORD"] = str(tmp_path / "record.json")
    job = make_job(tmp_path, SadTalkerOptions(), request={"upscaler": "realesrgan"})
    Image.fromarray(job.portrait).save(job.portrait_path)
    plan = engine.full_plan(job.request, SadTalkerOptions())
    assert plan.clip is None, "frames are piped, not a clip scaled"
    assert {"realesrgan-x4plus.param", "realesrgan-x4plus.bin"} <= set(plan.resources)
    assert any("Real-ESRGAN x4plus enlarges every frame" in note for note in plan.notes)
    stream = engine.render(job)
    assert isinstance(stream, FrameStream)
    assert stream.size == (1080, 1080) and stream.count == job.frame_count == 25
    assert "upscale" in job.clock.seconds
    # a 256 px frame costs some 15 s on two cores: test_upscale_engines reads enlarged frames
    plain = make_engine(cache, upstream, server.url)
    clip = plain.render(make_job(tmp_path / "plain", SadTalkerOptions()))
    assert not isinstance(clip, FrameStream), "bicubic: upstream's clip as it is"


def test_registry_lists_the_engine_as_available() -> None:
    from lipsync_tool.engine.registry import ENGINES, request_option_fields

    assert ENGINES["sadtalker"] is SadTalkerEngine
    flags = {f.name: f.flag for f in request_option_fields(SadTalkerEngine)}
    assert flags["batch_size"] == "--sadtalker-batch-size"
    assert SadTalkerEngine.options_type is SadTalkerOptions
    assert replace(SadTalkerOptions(), batch_size=3).batch_size == 3


def test_offline_switch_names_every_missing_file(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = SadTalkerOptions()
    first = make_engine(cache, upstream, server.url)
    render(first, tmp_path / "first", options, tmp_path / "r1.json")  # clone while online
    offline = make_engine(cache, upstream, server.url, {"LIPSYNC_OFFLINE": "1"})
    with pytest.raises(
        ResourceError, match="offline mode .*SadTalker_V0.0.2_512.safetensors.*put it at"
    ):
        offline.render(make_job(tmp_path / "second", SadTalkerOptions(resolution=512)))
    assert len(server.requests) == 4


def test_cli_first_run_builds_everything_then_reuses_it(
    tmp_path: Path,
    cli_setup: Path,
    server: FileServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The headline command: --install-deps on an empty cache clones, builds the venv (from local wheels here),
    fetches, renders and upscales; the second run needs none of it."""
    from lipsync_tool.cli import main

    wheelhouse = make_wheelhouse(tmp_path / "wheels")
    for key, value in offline_pip_env(wheelhouse, {}).items():
        monkeypatch.setenv(key, value)
    portrait, speech = _cli_files(tmp_path)
    argv = [
        str(portrait),
        str(speech),
        str(tmp_path / "out.mp4"),
        "--engine",
        "sadtalker",
        "--cache-dir",
        str(cli_setup),
        "--install-deps",
        "--resolution",
        "512",
        "--preprocess",
        "full",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    assert len(list((cli_setup / "sadtalker").glob("venv-py*/lipsync-sadtalker.json"))) == 1
    fetched = len(server.requests)
    assert fetched == 4
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on PATH
    assert main([*argv[:2], str(tmp_path / "again.mp4"), *argv[3:]]) == 0, capsys.readouterr().err
    assert len(server.requests) == fetched
    assert probe(find_ffmpeg(), tmp_path / "again.mp4").video.height == 1080


class InThread:
    """`work()` run in a thread; what it returned or raised, and when it ended."""

    def __init__(self, work: Callable[[], object]) -> None:
        self.result: object = None
        self.error: BaseException | None = None
        self.ended: float | None = None

        def run() -> None:
            try:
                self.result = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.error = exc
            finally:
                self.ended = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()


@pytest.fixture()
def leftovers() -> Iterator[list[int]]:
    """Pids to kill after the test, should a failing one have left them running."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for_pids(
    pid_file: Path, running: InThread, leftovers: list[int], timeout: float = 120.0
) -> dict[str, int]:
    """The pids the hanging stand-in's grandchild wrote, once it runs (fails early if the render ended)."""
    deadline = time.monotonic() + timeout
    while not pid_file.exists():
        assert running.thread.is_alive(), f"the render ended before upstream ran: {running.error!r}"
        assert time.monotonic() < deadline, "the stand-in upstream did not start"
        time.sleep(0.05)
    pids = json.loads(pid_file.read_text())
    leftovers.extend(pids.values())
    return pids


def ended(pid: int, timeout: float = 10.0) -> bool:
    """Whether process `pid` is gone, allowing a short wait for it to be reaped."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def cancel_when_upstream_runs(
    pid_file: Path, cancel: threading.Event, running: InThread, leftovers: list[int]
) -> tuple[dict[str, int], float]:
    """Set `cancel` once the stand-in and its grandchild run; (their pids, seconds to the render's end)."""
    pids = wait_for_pids(pid_file, running, leftovers)
    for pid in pids.values():
        os.kill(pid, 0)  # both run
    cancelled = time.monotonic()
    cancel.set()
    running.thread.join(30)
    assert not running.thread.is_alive(), "the render did not stop after cancel"
    assert running.ended is not None
    return pids, running.ended - cancelled


def test_cancel_ends_upstream_and_what_it_started(
    tmp_path: Path,
    cache: Path,
    upstream: tuple[Path, str],
    server: FileServer,
    leftovers: list[int],
) -> None:
    pid_file = tmp_path / "pids.json"
    engine = make_engine(cache, upstream, server.url, {HANG_VARIABLE: str(pid_file)})
    cancel = threading.Event()
    job = make_job(tmp_path, SadTalkerOptions(), cancel=cancel)
    running = InThread(lambda: engine.render(job))
    pids, seconds = cancel_when_upstream_runs(pid_file, cancel, running, leftovers)
    assert isinstance(running.error, Cancelled), repr(running.error)
    assert seconds < 5, f"the cancelled render took {seconds:.1f} s to end"
    assert ended(pids["inference"]) and ended(pids["grandchild"]), pids
    assert "inference" in job.clock.seconds


def test_cancelled_render_leaves_no_output_partial_or_temporary_files(
    tmp_path: Path,
    cache: Path,
    upstream: tuple[Path, str],
    server: FileServer,
    monkeypatch: pytest.MonkeyPatch,
    leftovers: list[int],
) -> None:
    """Through the Renderer: Cancelled, upstream's process group ended, nothing left anywhere."""
    from lipsync_tool.renderer import Renderer

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    portrait, speech = _cli_files(tmp_path)
    folder = tmp_path / "videos"
    folder.mkdir()
    pid_file = tmp_path / "pids.json"
    renderer = Renderer("sadtalker", cache_dir=cache, load=False)
    renderer.engine = make_engine(cache, upstream, server.url, {HANG_VARIABLE: str(pid_file)})
    request = RenderRequest(portrait=portrait, audio=speech, output=folder / "talk.mp4")
    cancel = threading.Event()
    seen: list[str] = []
    running = InThread(
        lambda: renderer.render(request, progress=lambda s, d, t: seen.append(s), cancel=cancel)
    )
    wait_for_pids(pid_file, running, leftovers)
    deadline = time.monotonic() + 10
    while "render" not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "render" in seen  # upstream's progress reaches the caller
    assert list(temp.glob("lipsync-*")), "the render's work directory is where the test looks"
    pids, seconds = cancel_when_upstream_runs(pid_file, cancel, running, leftovers)
    assert isinstance(running.error, Cancelled), repr(running.error)
    assert seconds < 5, f"the cancelled render took {seconds:.1f} s to end"
    assert ended(pids["inference"]) and ended(pids["grandchild"]), pids
    assert not (folder / "talk.mp4").exists()
    assert not list(folder.glob(".talk.*.partial.*"))
    assert list(folder.iterdir()) == []
    assert not list(temp.glob("lipsync-*"))
