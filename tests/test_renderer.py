"""One loaded Renderer serving different requests: warm equals fresh, no reload, busy, cancel, plug-in engines."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import lipsync_tool as lt
from lipsync_tool.cli import main
from lipsync_tool.engine.base import Engine, EngineJob, EnginePlan, FrameStream
from lipsync_tool.engine.registry import register, unregister
from lipsync_tool.option_specs import option
from lipsync_tool.request import RenderRequest

from .inputs_helpers import partial_files


def two_requests(workdir: Path, folder: Path) -> tuple[RenderRequest, RenderRequest]:
    """Requests that differ in everything but the engine."""
    folder.mkdir(exist_ok=True)
    first = RenderRequest(
        portrait=workdir / "astronaut.png",
        audio=workdir / "speech.wav",
        output=folder / "a.mp4",
        seed=1,
        expression_scale=1.3,
        upscale=False,
    )
    second = RenderRequest(
        portrait=workdir / "grace_hopper.jpg",
        text="Good morning, everyone.",
        output=folder / "b.mp4",
        seed=2,
        blink=False,
        still=False,
        fps=30,
        export_cues=folder / "b.json",
        upscale=False,
    )
    return first, second


def test_warm_renders_equal_fresh_ones_byte_for_byte(workdir: Path) -> None:
    warm_dir, fresh_dir = workdir / "warm", workdir / "fresh"
    renderer = lt.Renderer()
    warm = [renderer.render(r) for r in two_requests(workdir, warm_dir)]
    fresh = [lt.Renderer().render(r) for r in two_requests(workdir, fresh_dir)]
    for w, f in zip(warm, fresh):
        assert w.output.read_bytes() == f.output.read_bytes(), w.output.name
    assert (warm_dir / "b.json").read_bytes() == (fresh_dir / "b.json").read_bytes()
    assert warm[0].output.read_bytes() != warm[1].output.read_bytes()
    assert (warm[1].fps, fresh[1].frame_size) == (30, warm[1].frame_size)


def test_a_warm_render_loads_nothing(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the Renderer is built, building any model again fails: its renders still succeed."""
    from lipsync_tool.face import analyzer
    from lipsync_tool.speech import phones

    renderer = lt.Renderer()
    loaded = dict(renderer.load_seconds)
    assert set(loaded) == {"face", "speech", "engine"}

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded during a warm render")

    monkeypatch.setattr(analyzer.FaceAnalyzer, "__init__", no_loading)
    monkeypatch.setattr(phones.PhoneRecognizer, "__init__", no_loading)
    monkeypatch.setattr(phones.PhoneRecognizer, "_load", no_loading)  # the phone loop's decoder
    for request in two_requests(workdir, workdir / "out"):
        result = renderer.render(request)
        assert result.output.is_file()
        assert {"mouth track", "setup"} <= set(result.engine_seconds)
        assert list(result.stage_seconds) == [
            "validate",
            "analysis",
            "prepare",
            "render",
            "encode",
            "finish",
        ]
    assert renderer.load_seconds == loaded


def test_a_busy_renderer_refuses_a_second_thread(workdir: Path) -> None:
    renderer = lt.Renderer()
    first, second = two_requests(workdir, workdir / "out")
    started, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def hold(stage: str, done: int, total: int | None) -> None:
        if stage == "render" and done == 1:
            started.set()
            release.wait(30)

    def run() -> None:
        try:
            outcome.append(renderer.render(first, progress=hold))
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(60)
        with pytest.raises(lt.RendererBusy, match="one Renderer per thread"):
            renderer.render(second)
        with pytest.raises(lt.RendererBusy):
            renderer.plan(second)
    finally:
        release.set()
        thread.join(60)
    assert isinstance(outcome[0], lt.RenderResult) and first.output.is_file()
    assert not second.output.exists()
    assert renderer.render(second).output.is_file(), "free again once the first render ended"


def test_cancel_stops_within_a_frame_and_leaves_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = workdir / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    renderer = lt.Renderer()
    first, _ = two_requests(workdir, workdir / "out")
    request = first.replace(keep_temp=True, export_cues=workdir / "out" / "a.json")
    cancel = threading.Event()
    frames: list[int] = []

    def cancel_at_five(stage: str, done: int, total: int | None) -> None:
        if stage == "render":
            frames.append(done)
            if done == 5:
                cancel.set()

    with pytest.raises(lt.Cancelled):
        renderer.render(request, progress=cancel_at_five, cancel=cancel)
    assert max(frames) == 5, "no frame rendered after the cancel"
    assert sorted(p.name for p in (workdir / "out").iterdir()) == []
    assert not partial_files(workdir / "out")
    assert list(temp.iterdir()) == [], "the temporary directory is gone, keep_temp or not"
    cancel.clear()
    assert renderer.render(request, cancel=cancel).output.is_file(), "usable after a cancel"


def test_a_cancel_set_before_the_render_starts_nothing(workdir: Path) -> None:
    first, _ = two_requests(workdir, workdir / "out")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(lt.Cancelled):
        lt.render(first.portrait, first.audio, first.output, cancel=cancel)
    assert not first.output.exists()


# --- a plug-in engine: registered here, nothing else edited ----------------------------------------


@dataclass(frozen=True)
class ToyOptions:
    """Options of the toy engine."""

    shade: int = option(0, "grey level of every frame", minimum=0, maximum=255)


class ToyEngine(Engine):
    """Frames of one grey level, as many as the speech needs."""

    name = "toy"
    summary = "grey frames (a test engine)"
    code_licence = "MIT"
    weights_licence = "none"
    downloads = "nothing"
    options_type = ToyOptions
    flag_prefix = "toy-"

    def plan(self, request: RenderRequest, options: ToyOptions) -> EnginePlan:
        return EnginePlan(notes=(f"every frame grey level {options.shade}",))

    def render(self, job: EngineJob) -> FrameStream:
        height, width = job.portrait.shape[:2]
        shade = job.options.shade

        def frames() -> Iterator[np.ndarray]:
            for _ in range(job.frame_count):
                yield np.full((height, width, 3), shade, np.uint8)

        return FrameStream((width, height), job.frame_count, frames())


@pytest.fixture()
def toy_engine() -> Iterator[type[Engine]]:
    register(ToyEngine)
    yield ToyEngine
    unregister(ToyEngine.name)


def test_a_registered_engine_gets_its_flag_help_and_options(
    toy_engine: type[Engine], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.frames import iter_frames

    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    assert "toy engine:" in help_text and "--toy-shade SHADE" in help_text
    assert "grey level of every frame, 0 to 255 (default: 0)" in help_text
    out = workdir / "toy.mp4"
    code = main(
        [
            str(workdir / "grace_hopper.jpg"),
            str(workdir / "bursts.wav"),
            str(out),
            "--engine",
            "toy",
            "--toy-shade",
            "200",
            "--no-upscale",
        ]
    )
    assert code == 0, capsys.readouterr().err
    frames = list(iter_frames(find_ffmpeg(), out))
    assert len(frames) == 100 and abs(float(np.mean(frames[50])) - 200) < 3, "the flag reached it"
    assert (
        main(
            [
                str(workdir / "grace_hopper.jpg"),
                str(workdir / "bursts.wav"),
                str(out),
                "--engine",
                "toy",
                "--toy-shade",
                "300",
                "--overwrite",
            ]
        )
        == 2
    )
    assert "shade (--toy-shade) must be between 0 and 255" in capsys.readouterr().err
    info = {e.name: e for e in lt.engines()}["toy"]
    assert [f.flag for f in info.options] == ["--toy-shade"]


def test_engines_describe_themselves() -> None:
    described = {e.name: e.to_dict() for e in lt.engines()}
    assert list(described)[:3] == ["warp", "wav2lip", "sadtalker"]
    assert "non-commercial" in described["wav2lip"]["weights_licence"]
    assert {o["flag"] for o in described["wav2lip"]["options"]} >= {
        "--wav2lip-pads",
        "--wav2lip-crop",
    }
    assert {s["name"] for s in described["wav2lip"]["settings"]} == {"checkpoint", "impl"}
    batch = next(o for o in described["sadtalker"]["options"] if o["name"] == "batch_size")
    assert (batch["flag"], batch["minimum"], batch["maximum"]) == ("--sadtalker-batch-size", 1, 64)
    assert described["warp"]["options"] == []
    assert described["warp"]["downloads"].startswith("nothing (with --upscaler realesrgan")


def test_voices_and_cues_are_library_functions(workdir: Path) -> None:
    voices = lt.voices()
    assert any(v.language == "en-us" for v in voices) and len(voices) > 50
    track = lt.cues(workdir / "speech.wav", transcript=None, asr="pocketsphinx")
    assert track.method == "recognized" and {c.value for c in track.cues} >= {"A", "X"}
    written = track.write(workdir / "cues.tsv")
    assert written.read_text().splitlines()[-1].endswith("\tX")
    with pytest.raises(lt.InputError, match="already exists"):
        track.write(workdir / "cues.tsv")
    with pytest.raises(lt.InputError, match="visemes"):
        lt.cues(workdir / "speech.wav", visemes="nope")


def test_request_validation_names_the_problem(workdir: Path) -> None:
    with pytest.raises(lt.InputError, match="either AUDIO or"):
        RenderRequest(portrait="a.jpg", audio="s.wav", text="hi", output="o.mp4")
    with pytest.raises(lt.InputError, match=r"rate \(--rate\) must be between 80 and 450"):
        RenderRequest(portrait="a.jpg", text="hi", output="o.mp4", rate=20)
    with pytest.raises(lt.InputError, match="unknown wav2lip option: padz"):
        lt.Renderer("wav2lip", load=False).plan(
            RenderRequest(
                portrait=workdir / "astronaut.png",
                audio=workdir / "speech.wav",
                output=workdir / "o.mp4",
                options={"padz": 3},
            )
        )
    with pytest.raises(lt.InputError, match="unknown engine 'nope'"):
        lt.Renderer("nope")
    request = RenderRequest(portrait="a.jpg", text="hi", output="o.mp4")
    assert request.to_dict()["portrait"] == "a.jpg" and request.replace(seed=4).seed == 4


def test_demo_renders_the_bundled_portrait_and_never_clobbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipsync_tool.demo import demo_portrait
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.probe import probe

    assert (
        demo_portrait().is_file() and (demo_portrait().parent / "demo_portrait.SOURCE.md").is_file()
    )
    out = tmp_path / "demo.mp4"
    assert main(["demo", str(out), "--text", "Hello there."]) == 0
    info = probe(find_ffmpeg(), out)
    assert info.video is not None and info.video.height == 1080 and info.audio is not None
    assert f"wrote {out}" in capsys.readouterr().out
    before = out.read_bytes()
    assert main(["demo", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == before


def test_speech_analysis_fields_count_when_cues_are_exported(workdir: Path) -> None:
    renderer = lt.Renderer("sadtalker", cache_dir=workdir / "cache", load=False)
    request = RenderRequest(
        portrait=workdir / "astronaut.png",
        audio=workdir / "speech.wav",
        output=workdir / "o.mp4",
        transcript="hello there",
        language="de",
    )
    assert renderer.ignored(request) == ["--transcript", "--language"]
    assert renderer.ignored(request.replace(export_cues=workdir / "c.json")) == []


def test_check_raises_what_a_render_raises_and_writes_nothing(workdir: Path) -> None:
    renderer = lt.Renderer(load=False)
    good = RenderRequest(
        portrait=workdir / "astronaut.png", audio=workdir / "speech.wav", output=workdir / "o.mp4"
    )
    checked = renderer.check(good)
    assert checked.faces_seen == 1 and checked.duration == pytest.approx(6.2, abs=0.3)
    spoken = renderer.check(good.replace(audio=None, text="Hello there."))
    assert spoken.duration is not None and 0.5 < spoken.duration < 3
    assert renderer.load_seconds.keys() <= {"face"}  # no speech model, no engine

    (workdir / "empty.wav").write_bytes(b"")
    from PIL import Image

    Image.new("RGB", (200, 200), (128, 128, 128)).save(workdir / "grey.png")
    bad = [
        good.replace(audio=workdir / "empty.wav"),
        good.replace(audio=workdir / "speech.wav", max_duration=2.0),
        good.replace(portrait=workdir / "grey.png"),
        good.replace(portrait=workdir / "missing.jpg"),
    ]
    for request in bad:
        with pytest.raises(lt.InputError) as checked_error:
            renderer.check(request)
        with pytest.raises(lt.InputError) as rendered_error:
            renderer.render(request)
        assert str(checked_error.value) == str(rendered_error.value)
    assert not (workdir / "o.mp4").exists()
