"""Native wav2lip through a Renderer: loaded once, a warm Renderer renders as a fresh one, cancellation leaves nothing."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lipsync_tool.engine.wav2lip.options import Wav2LipOptions  # noqa: E402
from lipsync_tool.errors import Cancelled  # noqa: E402
from lipsync_tool.renderer import Renderer  # noqa: E402
from lipsync_tool.request import RenderRequest  # noqa: E402

from .conftest import write_wav  # noqa: E402
from .wav2lip_helpers import write_official_checkpoint  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"
)

N_FRAMES = 15  # 0.6 s at 25 fps


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parity weights in the official layout (deterministic, see wav2lip_helpers)."""
    return write_official_checkpoint(tmp_path_factory.mktemp("ckpt") / "wav2lip_filled.pth")


def _cut(source: Path, start: float, target: Path) -> Path:
    """0.6 s of `source` from `start` seconds."""
    with wave.open(str(source)) as handle:
        rate = handle.getframerate()
        samples = (
            np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32767
        )
    return write_wav(target, samples[int(start * rate) : int((start + 0.6) * rate)], rate)


@pytest.fixture(scope="module")
def clips(assets: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two different 0.6 s clips: eSpeak speech and the speech-like bursts."""
    folder = tmp_path_factory.mktemp("clips")
    return (
        _cut(assets / "speech.wav", 1.0, folder / "speech.wav"),
        _cut(assets / "bursts.wav", 1.2, folder / "bursts.wav"),
    )


def _requests(assets: Path, clips: tuple[Path, Path], out: Path) -> list[RenderRequest]:
    """Two requests differing in portrait, audio, seed, expression scale and every wav2lip option set."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        RenderRequest(
            portrait=assets / "grace_hopper.jpg",
            audio=clips[0],
            output=out / "hopper.mp4",
            seed=3,
            upscale=False,
            options={"pads": [0, 10, 0, 0], "batch_size": 8},
        ),
        RenderRequest(
            portrait=assets / "astronaut.png",
            audio=clips[1],
            output=out / "astronaut.mp4",
            seed=11,
            expression_scale=0.6,
            still=False,
            upscale=False,
            options=Wav2LipOptions(pads=(4, 20, 6, 6), batch_size=5),
        ),
    ]


def _renderer(checkpoint: Path, cache: Path) -> Renderer:
    return Renderer("wav2lip", cache_dir=cache, checkpoint=str(checkpoint), impl="native")


def test_a_warm_renderer_renders_exactly_as_fresh_ones(
    assets: Path, clips: tuple[Path, Path], checkpoint: Path, tmp_path: Path
) -> None:
    """Two different requests one after the other on one Renderer give the very bytes that a fresh
    Renderer per request gives: nothing of one render leaks into the next."""
    warm = _renderer(checkpoint, tmp_path / "cache")
    warm_outputs = [warm.render(r).output for r in _requests(assets, clips, tmp_path / "warm")]
    fresh_outputs = [
        _renderer(checkpoint, tmp_path / "cache").render(r).output
        for r in _requests(assets, clips, tmp_path / "fresh")
    ]
    warm_bytes = [hashlib.sha256(p.read_bytes()).hexdigest() for p in warm_outputs]
    fresh_bytes = [hashlib.sha256(p.read_bytes()).hexdigest() for p in fresh_outputs]
    assert warm_bytes[0] != warm_bytes[1], "the two requests differ"
    assert warm_bytes[0] == fresh_bytes[0], "the first render matches a fresh Renderer's"
    assert warm_bytes[1] == fresh_bytes[1], "the second render is unaffected by the first"


def test_a_renderer_loads_its_checkpoint_once(
    assets: Path, clips: tuple[Path, Path], checkpoint: Path, tmp_path: Path
) -> None:
    """The checkpoint loads when the Renderer is made; renders never read it again."""
    mine = tmp_path / "mine.pth"
    shutil.copyfile(checkpoint, mine)
    renderer = _renderer(mine, tmp_path / "cache")
    generator = renderer.engine.native()._generator
    assert generator is not None, "loaded at construction"
    mine.rename(tmp_path / "moved.pth")
    results = [renderer.render(r) for r in _requests(assets, clips, tmp_path / "out")]
    assert all(r.output.is_file() and r.frames == N_FRAMES for r in results)
    assert renderer.engine.native()._generator is generator, (
        "the same generator serves every render"
    )
    for result in results:
        assert set(result.engine_seconds) >= {"load", "detect", "mel", "generator", "paste"}
        assert result.engine_seconds["load"] < 0.5, "no load in a render"


def test_cancel_from_progress_stops_the_render_and_leaves_nothing(
    assets: Path,
    clips: tuple[Path, Path],
    checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    renderer = _renderer(checkpoint, tmp_path / "cache")
    out = tmp_path / "out"
    request = _requests(assets, clips, out)[0].replace(
        options=Wav2LipOptions(batch_size=2), output=out / "cancelled.mp4"
    )
    cancel = threading.Event()
    rendered: list[int] = []
    work_dirs: list[Path] = []

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage != "render":
            return
        rendered.append(done)
        if done >= 4 and not cancel.is_set():
            work_dirs.extend(temp.glob("lipsync-*"))
            cancel.set()

    with pytest.raises(Cancelled):
        renderer.render(request, progress=progress, cancel=cancel)
    assert 4 <= max(rendered) < N_FRAMES, "cancelled after a few frames, before the end"
    assert work_dirs, "the render's temporary directory was under the patched tempdir"
    assert list(out.iterdir()) == [], "no output and no .*.partial.* file"
    assert list(temp.glob("lipsync-*")) == [], "no temporary directory left"
    again = renderer.render(request)  # the Renderer is free again and renders the same request
    assert again.output.is_file() and again.frames == N_FRAMES


def test_the_learned_upscaler_gives_a_full_hd_video_with_a_crisper_face_and_mouth(
    astronaut: np.ndarray, clips: tuple[Path, Path], checkpoint: Path, tmp_path: Path
) -> None:
    """A 160 px portrait at 1080 lines: the portrait once and every generated mouth through
    Real-ESRGAN; crisper than bicubic where the face and the mouth are, and still moving."""
    import cv2

    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.media.frames import iter_frames

    from .upscale_helpers import require_upscaler, sharpness

    require_upscaler()
    small = cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA)
    portrait = tmp_path / "small.png"
    cv2.imwrite(str(portrait), small[:, :, ::-1])
    renderer = _renderer(checkpoint, tmp_path / "cache")
    videos, results = {}, {}
    for upscaler in ("bicubic", "realesrgan"):
        request = RenderRequest(
            portrait=portrait,
            audio=clips[0],
            output=tmp_path / f"{upscaler}.mp4",
            seed=3,
            upscaler=upscaler,
        )
        results[upscaler] = renderer.render(request)
        videos[upscaler] = [*iter_frames(find_ffmpeg(), results[upscaler].output)]
    learned, bicubic = videos["realesrgan"], videos["bicubic"]
    assert len(learned) == len(bicubic) == N_FRAMES
    assert learned[0].shape == bicubic[0].shape == (1080, 1080, 3)
    assert "upscale" in results["realesrgan"].engine_seconds
    assert "upscale" not in results["bicubic"].engine_seconds
    points = FaceAnalyzer().analyze(small).landmarks.points[:, :2] * (1080 / 160)
    x0, y0 = points.min(axis=0).astype(int)
    x1, y1 = points.max(axis=0).astype(int)
    face = (slice(y0, y1), slice(x0, x1))
    mouth = (slice((y0 + 2 * y1) // 3, y1), slice(x0 + (x1 - x0) // 4, x1 - (x1 - x0) // 4))
    for index in (0, N_FRAMES // 2):
        assert sharpness(learned[index][face]) > 1.3 * sharpness(bicubic[index][face])
        assert sharpness(learned[index][mouth]) > 1.3 * sharpness(bicubic[index][mouth])
    moved = np.abs(learned[0][mouth].astype(int) - learned[N_FRAMES // 2][mouth]).mean()
    assert moved > 1.0, "the generated mouth still changes from frame to frame"
