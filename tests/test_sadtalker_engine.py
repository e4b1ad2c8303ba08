"""The sadtalker engine end to end against stand-ins: a local bare repository with an inference.py that implements
upstream's command-line contract and result layout, checkpoints from a local HTTP server, a ready venv built by our
own builder from tiny wheels. Exact command lines, file placement, each failure message, no network on a warm cache,
--dry-run, and the CLI's 1080p output."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lipsync_tool.engines.base import EngineJob
from lipsync_tool.engines.sadtalker import engine as engine_module
from lipsync_tool.engines.sadtalker import weights as weights_module
from lipsync_tool.engines.sadtalker.engine import SadTalkerEngine
from lipsync_tool.engines.sadtalker.weights import needed_names
from lipsync_tool.errors import EngineError, ResourceError
from lipsync_tool.media.ffmpeg import find_ffmpeg
from lipsync_tool.media.probe import probe
from lipsync_tool.options import RenderOptions
from lipsync_tool.resources.repository import repository_path

from .conftest import speech_like, write_wav
from .sadtalker_helpers import (
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
    options: RenderOptions,
    cache: Path,
    upstream: tuple[Path, str],
    server_url: str,
    environ: dict[str, str] | None = None,
    missing: tuple[str, ...] = (),
) -> SadTalkerEngine:
    bare, commit = upstream
    resources, _ = fake_resources(server_url, missing)
    base = {k: v for k, v in os.environ.items() if k != "LIPSYNC_OFFLINE"}
    env = {**base, "LIPSYNC_SADTALKER_REPO_URL": bare.as_uri(), **(environ or {})}
    return SadTalkerEngine(options, cache, setup=test_setup(bare, commit, resources), environ=env)


def make_job(folder: Path, options: RenderOptions, seconds: float = 1.0) -> EngineJob:
    work = folder / "work"
    work.mkdir(parents=True)
    audio = write_wav(work / "speech_for_mux.wav", speech_like(seconds, [(0.1, seconds - 0.1)]))
    portrait = np.zeros((96, 80, 3), np.uint8)
    portrait[20:70, 20:60] = (200, 150, 120)
    return EngineJob(
        portrait_path=folder / "p.jpg",
        portrait=portrait,
        face=None,
        audio_path=audio,  # type: ignore[arg-type]
        speech=None,
        frame_count=int(seconds * 25),
        options=options,
        work_dir=work,
        mouth=None,
    )  # type: ignore[arg-type]


def render(
    engine: SadTalkerEngine, folder: Path, options: RenderOptions, record: Path
) -> tuple[Path, dict]:
    engine.environ["SADTALKER_STANDIN_RECORD"] = str(record)
    seen: list[tuple[str, int, int | None]] = []
    clip = engine.render(
        make_job(folder, options), lambda stage, done, total: seen.append((stage, done, total))
    )
    assert ("render", 25, 25) in seen
    return clip.path, json.loads(record.read_text())


@pytest.mark.parametrize(
    "options",
    [
        RenderOptions(engine="sadtalker", install_deps=True),
        RenderOptions(
            engine="sadtalker",
            resolution=512,
            preprocess="full",
            enhancer="gfpgan",
            still=False,
            expression_scale=1.5,
            sadtalker_batch_size=4,
        ),
    ],
)
def test_render_runs_the_upstream_contract(
    options: RenderOptions,
    tmp_path: Path,
    cache: Path,
    upstream: tuple[Path, str],
    server: FileServer,
) -> None:
    engine = make_engine(options, cache, upstream, server.url)
    clip, record = render(engine, tmp_path, options, tmp_path / "record.json")
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
        f"{options.expression_scale:g}",
        *(["--still"] if options.still else []),
        *(["--enhancer", options.enhancer] if options.enhancer else []),
        "--batch_size",
        str(options.sadtalker_batch_size),
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
    options = RenderOptions(engine="sadtalker")
    render(
        make_engine(options, cache, upstream, server.url),
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
        options,
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
    options = RenderOptions(engine="sadtalker")
    engine = make_engine(options, cache, upstream, server.url)
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
    options = RenderOptions(engine="sadtalker")
    engine = make_engine(options, cache, upstream, server.url, {"SADTALKER_STANDIN_MODE": mode})
    with pytest.raises(kind) as caught:
        engine.render(make_job(tmp_path, options))
    message = str(caught.value)
    assert "\n" not in message and __import__("re").search(pattern, message), message
    if mode == "crash":
        assert "crash line 6 " not in message  # the last 20 stderr lines only


def test_checkpoint_404_and_unreachable_server(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = RenderOptions(engine="sadtalker")
    engine = make_engine(options, cache, upstream, server.url, missing=("alignment_WFLW_4HG.pth",))
    server.files.pop("alignment_WFLW_4HG.pth")
    with pytest.raises(ResourceError, match="alignment_WFLW_4HG.pth.*HTTP 404"):
        engine.render(make_job(tmp_path / "a", options))
    closed = make_engine(options, cache, upstream, "http://127.0.0.1:9")
    with pytest.raises(
        ResourceError, match="missing and the network cannot be reached: .*alignment_WFLW_4HG.pth"
    ):
        closed.render(make_job(tmp_path / "b", options))


def test_git_missing_and_clone_failure(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = RenderOptions(engine="sadtalker")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    engine = make_engine(options, cache, upstream, server.url, {"PATH": str(empty)})
    with pytest.raises(ResourceError, match="git is not installed"):
        engine.render(make_job(tmp_path / "a", options))
    bogus = make_engine(
        options,
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
    options = RenderOptions(engine="sadtalker")
    engine = make_engine(options, cache, upstream, server.url)
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


def test_registry_lists_the_engine_as_available() -> None:
    from lipsync_tool.engines.registry import ENGINES

    assert ENGINES["sadtalker"] is SadTalkerEngine
    assert "sadtalker_batch_size" in SadTalkerEngine.honoured_options
    assert replace(RenderOptions(), sadtalker_batch_size=3).sadtalker_batch_size == 3


def test_offline_switch_names_every_missing_file(
    tmp_path: Path, cache: Path, upstream: tuple[Path, str], server: FileServer
) -> None:
    options = RenderOptions(engine="sadtalker")
    first = make_engine(options, cache, upstream, server.url)
    render(first, tmp_path / "first", options, tmp_path / "r1.json")  # clone while online
    offline = make_engine(
        RenderOptions(engine="sadtalker", resolution=512),
        cache,
        upstream,
        server.url,
        {"LIPSYNC_OFFLINE": "1"},
    )
    with pytest.raises(
        ResourceError, match="offline mode .*SadTalker_V0.0.2_512.safetensors.*put it at"
    ):
        offline.render(make_job(tmp_path / "second", options))
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
