"""The native wav2lip engine: face box arithmetic, paste-back, OOM retries, checkpoints, and CPU renders end to end."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from lipsync_tool.cli import main  # noqa: E402
from lipsync_tool.control import no_progress  # noqa: E402
from lipsync_tool.engine.base import EngineContext, EngineJob  # noqa: E402
from lipsync_tool.engine.wav2lip import engine as engine_module  # noqa: E402
from lipsync_tool.engine.wav2lip.checkpoint import resolve_checkpoint  # noqa: E402
from lipsync_tool.engine.wav2lip.device import batch_for_memory, is_out_of_memory, run_batches  # noqa: E402
from lipsync_tool.engine.wav2lip.facebox import face_boxes, manual_box, pad_box, smooth_boxes  # noqa: E402
from lipsync_tool.engine.wav2lip.native import NativeWav2Lip  # noqa: E402
from lipsync_tool.engine.wav2lip.options import Wav2LipOptions, Wav2LipSettings  # noqa: E402
from lipsync_tool.engine.wav2lip.paste import FIRST_USED_ROW, feather_mask  # noqa: E402
from lipsync_tool.errors import EngineError, InputError, ResourceError  # noqa: E402
from lipsync_tool.media.audio import SpeechAudio, frame_count  # noqa: E402
from lipsync_tool.media.probe import probe  # noqa: E402
from lipsync_tool.request import RenderRequest  # noqa: E402
from lipsync_tool.resources import table  # noqa: E402

from .conftest import write_wav  # noqa: E402
from .wav2lip_helpers import write_official_checkpoint  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"
)

CLIP = (1.0, 1.6)  # seconds of the eSpeak sentence in speech.wav
N_FRAMES = 15  # at 25 fps


# --- face box: upstream's arithmetic -------------------------------------------------------------


def test_pads_are_top_bottom_left_right_and_clipped_to_the_image() -> None:
    assert pad_box((100, 50, 200, 180), (5, 10, 3, 7), (300, 400, 3)) == (97, 45, 207, 190)
    # clipped at every edge: y1 >= 0, y2 <= height, x1 >= 0, x2 <= width
    assert pad_box((2, 4, 395, 290), (10, 20, 30, 40), (300, 400, 3)) == (0, 0, 400, 300)


def test_smoothing_is_upstreams_truncating_running_mean() -> None:
    column = np.array([0, 10, 20, 30, 40, 50])
    boxes = np.stack([column, column + 1, column + 2, column + 3], axis=1)
    # i=0: mean(0..40)=20; i=1: mean(10..50)=30; from i=2 the window is the last five, already smoothed
    # ones included: (30,20,30,40,50)=34, (30,34,30,40,50)=36.8->36, (30,34,36,40,50)=38, (30,34,36,38,50)=37.6->37
    expected = np.array([20, 30, 34, 36, 38, 37])
    smoothed = smooth_boxes(boxes)
    assert smoothed[:, 0].tolist() == expected.tolist()
    assert smoothed[:, 3].tolist() == (expected + 3).tolist()
    assert boxes[:, 0].tolist() == column.tolist(), "the input is left alone"


def test_face_boxes_pad_then_smooth_unless_nosmooth() -> None:
    rects = [(100 + 10 * i, 100, 200 + 10 * i, 220) for i in range(6)]
    raw = face_boxes(rects, (0, 10, 0, 0), (480, 640, 3), nosmooth=True)
    assert raw == [(100 + 10 * i, 100, 200 + 10 * i, 230) for i in range(6)]
    smooth = face_boxes(rects, (0, 10, 0, 0), (480, 640, 3), nosmooth=False)
    assert [b[0] for b in smooth] == [120, 130, 134, 136, 138, 137]
    one = face_boxes(rects[:1], (0, 10, 0, 0), (480, 640, 3), nosmooth=False)
    assert one == raw[:1], "a still portrait's single box is not moved by smoothing"


def test_manual_crop_must_lie_inside_the_portrait() -> None:
    assert manual_box((10, 20, 110, 140), (200, 300, 3)) == (10, 20, 110, 140)
    with pytest.raises(InputError, match=r"outside the 300x200 portrait"):
        manual_box((10, 20, 310, 140), (200, 300, 3))
    with pytest.raises(InputError, match="smaller than 8x8"):
        manual_box((10, 20, 14, 140), (200, 300, 3))


def test_feather_mask_is_zero_on_the_box_edges_and_one_over_the_mouth() -> None:
    mask = feather_mask(200, 160)[:, :, 0]
    assert mask[0].max() == mask[-1].max() == mask[:, 0].max() == mask[:, -1].max() == 0.0
    assert mask[: int(0.42 * 200)].max() == 0.0, "the upper face is never touched"
    assert mask[150, 80] == pytest.approx(1.0)
    assert (
        np.abs(np.diff(mask, axis=0)).max() < 0.06 and np.abs(np.diff(mask, axis=1)).max() < 0.06
    ), "no step"


# --- device: batches and out-of-memory retries ----------------------------------------------------


def _oom_above(limit: int, calls: list[tuple[int, int]]):
    def run(start: int, stop: int) -> list[int]:
        calls.append((start, stop))
        if stop - start > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return list(range(start, stop))

    return run


def test_out_of_memory_halves_the_batch_and_retries() -> None:
    calls: list[tuple[int, int]] = []
    released: list[int] = []
    results = list(run_batches(40, 16, _oom_above(4, calls), release=lambda: released.append(1)))
    assert calls[:3] == [(0, 16), (0, 8), (0, 4)], "retried from the same frame with half the batch"
    assert [r for _, _, batch in results for r in batch] == list(range(40)), (
        "every frame once, in order"
    )
    assert all(stop - start <= 4 for start, stop, _ in results), "the smaller batch is kept"
    assert len(released) == 2


def test_out_of_memory_at_batch_one_is_one_clear_error() -> None:
    with pytest.raises(
        EngineError, match=r"out of memory even with a generator batch of 1.*CUDA_VISIBLE_DEVICES"
    ):
        list(run_batches(3, 4, _oom_above(0, [])))


def test_other_errors_are_not_retried() -> None:
    def run(start: int, stop: int) -> None:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        list(run_batches(3, 4, run))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not is_out_of_memory(ValueError("out of range"))


def test_batch_is_sized_to_free_memory() -> None:
    assert batch_for_memory(128, None) == 128
    assert batch_for_memory(128, 64 * 2**30) == 128
    assert batch_for_memory(128, 400 * 2**20) == 4
    assert batch_for_memory(128, 400 * 2**20, half=True) == 8
    assert batch_for_memory(128, 1) == 1


# --- checkpoints -----------------------------------------------------------------------------------


def test_named_checkpoint_offline_names_file_url_and_path(tmp_path: Path) -> None:
    with pytest.raises(ResourceError) as caught:
        resolve_checkpoint("gan", tmp_path, offline=True)
    message = str(caught.value)
    entry = table.resource("wav2lip_gan.pth")
    assert (
        entry.url in message
        and str(tmp_path / "wav2lip" / entry.path) in message
        and "\n" not in message
    )


def test_named_checkpoint_verified_in_the_cache_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    data = b"not really a checkpoint, but the one the table expects"
    entry = table.Resource(
        "wav2lip.pth",
        "wav2lip",
        "http://127.0.0.1:9/none",
        "checkpoints/wav2lip.pth",
        len(data),
        hashlib.sha256(data).hexdigest(),
        "test",
        "test",
    )
    monkeypatch.setattr("lipsync_tool.engine.wav2lip.checkpoint.resource", lambda name: entry)
    place = tmp_path / "wav2lip" / "checkpoints" / "wav2lip.pth"
    place.parent.mkdir(parents=True)
    place.write_bytes(data)
    found = resolve_checkpoint("base", tmp_path, offline=True)
    assert (found.path, found.trusted, found.label) == (place, True, "wav2lip.pth")
    place.write_bytes(
        data[:-1]
    )  # truncated: no longer verified, and offline it cannot be fetched again
    with pytest.raises(ResourceError, match="wav2lip.pth"):
        resolve_checkpoint("base", tmp_path, offline=True)


def test_explicit_checkpoint_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.pt"
    path.write_bytes(b"x")
    found = resolve_checkpoint(str(path), tmp_path / "cache")
    assert found.path == path and found.trusted and found.label == str(path)
    with pytest.raises(InputError, match="no such file"):
        resolve_checkpoint(str(tmp_path / "absent.pth"), tmp_path / "cache")


# --- fixtures for renders ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_official_checkpoint(tmp_path_factory.mktemp("ckpt") / "wav2lip_filled.pth")


@pytest.fixture(scope="module")
def clip(assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.6 s of the eSpeak sentence (15 frames at 25 fps)."""
    with wave.open(str(assets / "speech.wav")) as handle:
        rate = handle.getframerate()
        samples = (
            np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32767
        )
    part = samples[int(CLIP[0] * rate) : int(CLIP[1] * rate)]
    return write_wav(tmp_path_factory.mktemp("clip") / "clip.wav", part, rate)


@pytest.fixture(scope="module")
def hopper(assets: Path) -> tuple[np.ndarray, object]:
    from lipsync_tool.face.analyzer import FaceAnalyzer
    from lipsync_tool.media.image import load_portrait

    image = load_portrait(assets / "grace_hopper.jpg")
    return image, FaceAnalyzer().analyze(image)


def _context(work: Path) -> EngineContext:
    return EngineContext(cache_dir=work)


def _native(work: Path, generator: object = None, **settings: object) -> NativeWav2Lip:
    return NativeWav2Lip(Wav2LipSettings(**settings), _context(work), generator=generator)


def _job(
    hopper: tuple,
    clip: Path,
    work: Path,
    options: Wav2LipOptions | None = None,
    *,
    progress: Callable[[str, int, int | None], None] = no_progress,
    **request: Any,
) -> EngineJob:
    """A job for `clip` on the portrait, with the engine's per-render `options` and RenderRequest fields."""
    with wave.open(str(clip)) as handle:
        samples = (
            np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32767
        )
    speech = SpeechAudio(samples, 16000, clip)
    image, face = hopper
    options = options or Wav2LipOptions()
    req = RenderRequest(
        portrait=Path("grace_hopper.jpg"),
        audio=clip,
        output=work / "out.mp4",
        options=options,
        **request,
    )
    return EngineJob(
        portrait_path=Path("grace_hopper.jpg"),
        portrait=image,
        face=face,
        audio_path=clip,
        speech=speech,
        frame_count=frame_count(speech.duration, req.fps),
        request=req,
        options=options,
        work_dir=work,
        mouth=None,
        progress=progress,
    )


class IdentityGenerator(torch.nn.Module):
    """Returns the unmasked reference crop it is given (channels 3-5 of the face input), for every window."""

    def still_decoder(
        self, face: torch.Tensor, first_row: int = 0
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda windows: self.decode(windows, face)

    def decode(self, windows: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        return face[:, 3:6].expand(windows.shape[0], -1, -1, -1)


class OomAboveTwo(IdentityGenerator):
    """The identity generator, on a device that runs out of memory for batches above 2."""

    def decode(self, windows: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        if windows.shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
        return super().decode(windows, face)


def _outside(box: tuple[int, int, int, int], shape: tuple[int, ...], margin: int = 0) -> np.ndarray:
    x1, y1, x2, y2 = box
    mask = np.ones(shape[:2], bool)
    mask[max(0, y1 - margin) : y2 + margin, max(0, x1 - margin) : x2 + margin] = False
    return mask


def _contact_sheet(frames: list[np.ndarray], path: Path, height: int = 240) -> Path:
    tiles = [
        Image.fromarray(f).resize((int(f.shape[1] * height / f.shape[0]), height)) for f in frames
    ]
    sheet = Image.new("RGB", (sum(t.width for t in tiles), height))
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width
    sheet.save(path)
    return path


# --- the native path on frames ------------------------------------------------------------------------


def test_identity_generator_pastes_back_without_a_seam(
    hopper: tuple, clip: Path, tmp_path: Path
) -> None:
    options = Wav2LipOptions(batch_size=8)
    native = _native(tmp_path, IdentityGenerator())
    job = _job(hopper, clip, tmp_path, options)
    stream = native.render(job)
    frames = list(stream.frames)
    image = hopper[0]
    box = native.prepare_face(_job(hopper, clip, tmp_path, options)).box
    assert len(frames) == stream.count == N_FRAMES and stream.size == (
        image.shape[1],
        image.shape[0],
    )
    diff = np.abs(frames[0].astype(int) - image.astype(int))
    _contact_sheet(
        [image, frames[0], (np.minimum(diff * 8, 255)).astype(np.uint8)],
        tmp_path / "identity_sheet.png",
    )
    assert diff[_outside(box, image.shape)].max() == 0, "nothing outside the box changes"
    x1, y1, x2, y2 = box
    inside = diff[y1:y2, x1:x2]
    assert inside[0].max() == inside[-1].max() == inside[:, 0].max() == inside[:, -1].max() == 0, (
        "no seam on the edges"
    )
    assert inside.mean() < 3 and np.percentile(inside, 99) < 25, (
        "only the 96x96 round trip's blur remains"
    )
    assert all(np.array_equal(frames[0], f) for f in frames[1:])
    assert set(job.clock.seconds) >= {"detect", "mel", "generator", "paste"}


def test_speech_shorter_than_one_mel_window_still_renders(
    hopper: tuple, clip: Path, tmp_path: Path
) -> None:
    job = _job(hopper, clip, tmp_path)
    short = SpeechAudio(
        job.speech.samples[:2400], 16000, clip
    )  # 0.15 s: 13 mel columns, fewer than a window
    job = EngineJob(
        **{
            **job.__dict__,
            "speech": short,
            "frame_count": frame_count(short.duration, job.request.fps),
        }
    )
    frames = list(_native(tmp_path, IdentityGenerator()).render(job).frames)
    assert len(frames) == 4


def test_out_of_memory_in_a_render_retries_with_smaller_batches(
    hopper: tuple, clip: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    native = _native(tmp_path, OomAboveTwo())
    progress: list[tuple[str, int, int | None]] = []
    job = _job(
        hopper,
        clip,
        tmp_path,
        Wav2LipOptions(batch_size=16),
        progress=lambda *a: progress.append(a),
    )
    frames = list(native.render(job).frames)
    assert len(frames) == N_FRAMES
    assert "retrying with a generator batch of 2" in caplog.text
    assert progress[0] == ("render", 0, N_FRAMES) and progress[-1] == ("render", N_FRAMES, N_FRAMES)
    assert [p[1] for p in progress] == sorted(p[1] for p in progress)


def test_filled_checkpoint_changes_only_the_lower_face(
    hopper: tuple, clip: Path, checkpoint: Path, tmp_path: Path
) -> None:
    native = _native(tmp_path, checkpoint=str(checkpoint))
    job = _job(hopper, clip, tmp_path, Wav2LipOptions(batch_size=8))
    frames = list(native.render(job).frames)
    image, face = hopper
    x1, y1, x2, y2 = native.prepare_face(job).box
    chin = float(face.landmarks.points[152, 1])
    assert y1 < face.landmarks.points[1, 1] < y2 and y2 >= chin, (
        "the box holds the nose and reaches below the chin"
    )
    for frame in frames[::7]:
        diff = np.abs(frame.astype(int) - image.astype(int)).max(axis=2)
        assert diff[_outside((x1, y1, x2, y2), image.shape)].max() == 0
        assert diff[y1 : y1 + int(0.42 * (y2 - y1))].max() == 0, "the upper face is untouched"
        assert diff[y1 + int(0.6 * (y2 - y1)) : y1 + int(0.85 * (y2 - y1)), x1:x2].mean() > 3, (
            "the mouth is generated"
        )
    assert not np.array_equal(frames[0], frames[-1]), "frames follow the audio"


def test_face_encoded_once_equals_the_whole_network(tmp_path: Path) -> None:
    """What the native path runs (norms folded, channels-last, face encoded once) against the plain network."""
    from lipsync_tool.engine.wav2lip.model import KEY_PREFIX, Wav2LipGenerator, fold_batch_norm

    from .wav2lip_helpers import official_state

    model = Wav2LipGenerator()
    model.load_state_dict({k[len(KEY_PREFIX) :]: v for k, v in official_state().items()})
    model.eval()
    with np.load(Path(__file__).parent / "data" / "wav2lip" / "wav2lip_parity.npz") as npz:
        mel, face = torch.from_numpy(npz["mel"]), torch.from_numpy(npz["face"][:1])
    with torch.inference_mode():
        whole = model(mel, face.expand(len(mel), -1, -1, -1).contiguous())
        fast = fold_batch_norm(model).to(memory_format=torch.channels_last)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
        split = fast.decode(
            mel, fast.encode_face(face.contiguous(memory_format=torch.channels_last))
        )
        still = fast.still_decoder(
            face.contiguous(memory_format=torch.channels_last), FIRST_USED_ROW
        )
        lower = still(mel)
        everything = fast.still_decoder(face, 0)(mel)
    assert len(mel) > 1 and float((whole - split).abs().max()) < 1e-5
    assert 0 < still.exact_from <= FIRST_USED_ROW and still.cut[96] > 0, (
        "the decoder skips rows the paste never reads"
    )
    assert (
        lower.shape == whole.shape
        and float((whole - lower)[:, :, still.exact_from :].abs().max()) < 1e-5
    )
    assert float((whole - everything).abs().max()) < 1e-5, (
        "with no rows skipped, every row equals the network's"
    )


@pytest.mark.parametrize("height", [40, 96, 150, 333])
def test_paste_back_never_reads_the_rows_the_decoder_skips(height: int) -> None:
    """Rows above FIRST_USED_ROW of a generated face change nothing in the pasted frame, at any box size."""
    from lipsync_tool.engine.wav2lip.paste import FacePaster

    rng = np.random.default_rng(height)
    frame = rng.integers(0, 256, (height + 20, 120, 3), dtype=np.uint8)
    box = (10, 10, 110, 10 + height)
    paster = FacePaster(frame, box, rng.integers(0, 256, (96, 96, 3)).astype(np.uint8))
    generated = rng.random((96, 96, 3)).astype(np.float32)
    scrambled = generated.copy()
    scrambled[:FIRST_USED_ROW] = rng.random((FIRST_USED_ROW, 96, 3))
    assert np.array_equal(paster.paste(generated), paster.paste(scrambled))
    scrambled[FIRST_USED_ROW + 8] = 0.0
    assert not np.array_equal(paster.paste(generated), paster.paste(scrambled)), (
        "rows below it are used"
    )


@pytest.mark.filterwarnings("ignore:CUDA is not available:UserWarning")
def test_half_precision_path_keeps_batch_norms(
    hopper: tuple, clip: Path, checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CUDA choice (fp16 autocast, norms unfolded), run on the CPU where autocast for cuda is a no-op."""
    from lipsync_tool.engine.wav2lip import native as native_module
    from lipsync_tool.engine.wav2lip.device import DeviceChoice

    monkeypatch.setattr(
        native_module, "select_device", lambda: DeviceChoice("cpu", half=True, threads=None)
    )
    native = _native(tmp_path, checkpoint=str(checkpoint))
    frames = list(native.render(_job(hopper, clip, tmp_path, Wav2LipOptions(batch_size=8))).frames)
    assert len(frames) == N_FRAMES
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in native._generator.modules())


# --- through the CLI ------------------------------------------------------------------------------------


def _decode(ffmpeg: str, path: Path) -> list[np.ndarray]:
    from lipsync_tool.media.frames import iter_frames

    return [frame.copy() for frame in iter_frames(ffmpeg, path)]


def _encoded_portrait(
    ffmpeg: str, image: np.ndarray, audio: Path, out: Path, count: int
) -> np.ndarray:
    """The portrait, unchanged, through the same encoder settings as a --no-upscale render: the coding-noise baseline."""
    from lipsync_tool.media.encode import EncodeSettings, frames_command
    from lipsync_tool.media.ffmpeg import FrameWriter

    size = (image.shape[1], image.shape[0])
    with FrameWriter(
        frames_command(
            ffmpeg, size, EncodeSettings(fps=25.0, upscale=False, container="mp4", audio=audio), out
        ),
        size,
    ) as writer:
        for _ in range(count):
            writer.write(image)
    return _decode(ffmpeg, out)[0]


def test_cli_render_end_to_end(
    assets: Path,
    clip: Path,
    checkpoint: Path,
    hopper: tuple,
    ffmpeg: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    portrait = assets / "grace_hopper.jpg"
    base = [
        str(portrait),
        str(clip),
        "--engine",
        "wav2lip",
        "--wav2lip-checkpoint",
        str(checkpoint),
        "--wav2lip-batch-size",
        "13",
        "--no-blink",
        "--expression-scale",
        "0",
    ]  # upstream's frozen face: only the mouth may change
    full = tmp_path / "full.mp4"
    assert main([*base[:2], str(full), *base[2:]]) == 0
    info = probe(ffmpeg, full)
    assert info.video.height == 1080 and info.video.codec == "h264" and info.audio.codec == "aac"
    assert info.duration == pytest.approx(CLIP[1] - CLIP[0], abs=0.1)

    native = tmp_path / "native.mp4"
    assert main([*base[:2], str(native), *base[2:], "--no-upscale"]) == 0
    image, _face = hopper
    frames = _decode(ffmpeg, native)
    assert len(frames) == N_FRAMES
    baseline = _encoded_portrait(ffmpeg, image, clip, tmp_path / "baseline.mp4", len(frames))
    box = (
        _native(tmp_path, checkpoint=str(checkpoint)).prepare_face(_job(hopper, clip, tmp_path)).box
    )
    sheet = _contact_sheet([baseline, *frames[::5]], tmp_path / "wav2lip_sheet.png")
    far = _outside(box, image.shape, margin=16)
    for frame in frames[::5]:
        diff = np.abs(frame.astype(int) - baseline.astype(int)).max(axis=2)
        assert diff[far].mean() < 0.5 and np.percentile(diff[far], 99.9) <= 8, (
            f"only coding noise far from the box ({sheet})"
        )
        x1, y1, x2, y2 = box
        assert diff[y1 + int(0.6 * (y2 - y1)) : y1 + int(0.85 * (y2 - y1)), x1:x2].mean() > 3, (
            f"the mouth changed ({sheet})"
        )
    assert capsys.readouterr().err.count("error") == 0


def _without_notice(err: list[str]) -> list[str]:
    """stderr lines but the licence notice a Renderer logs once when it loads the engine."""
    return [line for line in err if line != engine_module.NOTICE]


def test_cli_errors_are_one_line(
    assets: Path,
    clip: Path,
    checkpoint: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    portrait, out = str(assets / "grace_hopper.jpg"), tmp_path / "o.mp4"
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"<html>Sign in to SharePoint</html>" * 10)
    cases = [
        (["--wav2lip-checkpoint", str(corrupt)], 1, "corrupt"),
        # a Renderer loads its checkpoint when it is made, before it sees the crop: give one that loads
        (
            ["--wav2lip-checkpoint", str(checkpoint), "--wav2lip-crop", "10", "10", "5000", "300"],
            2,
            "--wav2lip-crop",
        ),
    ]
    for extra, code, words in cases:
        assert main([portrait, str(clip), str(out), "--engine", "wav2lip", *extra]) == code
        err = capsys.readouterr().err.strip().splitlines()
        errors = [line for line in err if line.startswith("error")]
        assert (
            len(errors) == 1
            and errors[0] == err[-1]
            and words in errors[0]
            and "Traceback" not in "".join(err)
        )
        assert not out.exists() and not list(tmp_path.glob("*.part*"))
    monkeypatch.setenv("LIPSYNC_OFFLINE", "1")
    monkeypatch.setenv("LIPSYNC_CACHE_DIR", str(tmp_path / "cache"))
    assert main([portrait, str(clip), str(out), "--engine", "wav2lip"]) == 1
    err = _without_notice(capsys.readouterr().err.strip().splitlines())
    assert (
        len(err) == 1 and "wav2lip_gan.pth" in err[0] and "offline" in err[0] and not out.exists()
    )


def test_missing_torch_says_how_to_install_it(
    assets: Path,
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lipsync_tool.deps import Requirement

    monkeypatch.setattr(
        engine_module,
        "REQUIREMENTS",
        (Requirement("lipsync_absent_torch", "lipsync-absent-torch>=2"),),
    )
    out = tmp_path / "o.mp4"
    assert main([str(assets / "grace_hopper.jpg"), str(clip), str(out), "--engine", "wav2lip"]) == 2
    err = _without_notice(capsys.readouterr().err.strip().splitlines())
    assert (
        len(err) == 1
        and "--install-deps" in err[0]
        and 'pip install "lipsync-tool[wav2lip]"' in err[0]
    )
    assert not out.exists()


def test_dry_run_lists_the_checkpoint(
    assets: Path, clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            str(assets / "grace_hopper.jpg"),
            str(clip),
            str(tmp_path / "o.mp4"),
            "--engine",
            "wav2lip",
            "--dry-run",
            "--wav2lip-resize-factor",
            "2",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert (
        "resources: wav2lip_gan.pth" in printed
        and "1/2 scale" in printed
        and "full resolution" in printed
    )
    assert "ignored" not in printed
    missing = tmp_path / "absent.pth"
    code = main(
        [
            str(assets / "grace_hopper.jpg"),
            str(clip),
            str(tmp_path / "o.mp4"),
            "--engine",
            "wav2lip",
            "--dry-run",
            "--wav2lip-checkpoint",
            str(missing),
        ]
    )
    assert code == 2 and "no such file" in capsys.readouterr().err


def test_the_face_lives_by_default_blinks_and_head_motion(
    hopper: tuple, clip: Path, checkpoint: Path, tmp_path: Path
) -> None:
    """Wav2Lip alone freezes everything but the mouth; the engine adds the warp engine's blinks and head motion:
    the head moves outside the generator's box, --no-blink changes only the eyes, the same seed the same frames."""
    from lipsync_tool.engine.wav2lip.engine import Wav2LipEngine
    from lipsync_tool.life.motion import blink_times

    image, face = hopper
    settings = Wav2LipSettings(checkpoint=str(checkpoint))
    wav2lip = Wav2LipOptions(batch_size=8)
    with wave.open(
        str(clip)
    ) as handle:  # the clip, padded with silence to 2 s: nobody blinks in the first second
        samples = (
            np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32767
        )
    longer = write_wav(
        tmp_path / "two_seconds.wav",
        np.concatenate([samples, np.zeros(32000 - len(samples), np.float32)]),
    )
    seed = next(
        s for s in range(100) if blink_times(2.0, np.random.default_rng(s))
    )  # one that blinks in 2 s

    engine = Wav2LipEngine(settings, _context(tmp_path))

    def render(**changes: Any) -> list[np.ndarray]:
        job = _job(hopper, longer, tmp_path, wav2lip, seed=seed, **changes)
        return list(engine.render(job).frames)

    frames, again, unblinking = render(), render(), render(blink=False)
    box = engine.native().prepare_face(_job(hopper, clip, tmp_path, wav2lip)).box
    outside = _outside(box, image.shape, margin=4)
    assert (
        max(np.abs(f.astype(int) - image.astype(int)).max(axis=2)[outside].max() for f in frames)
        > 20
    ), "the head moves"
    assert all(np.array_equal(a, b) for a, b in zip(frames, again)), "same seed, same frames"
    eyes = face.landmarks.points[[33, 133, 362, 263, 159, 386, 145, 374], :2]
    (ex0, ey0), (ex1, ey1) = eyes.min(axis=0) - 25, eyes.max(axis=0) + 25
    blinked = [
        np.abs(a.astype(int) - b.astype(int)).max(axis=2) for a, b in zip(frames, unblinking)
    ]
    assert any(d.max() > 30 for d in blinked), "the eyes blink"
    for d in blinked:
        d[int(ey0) : int(ey1), int(ex0) : int(ex1)] = 0
        assert d.max() == 0, "--no-blink changes nothing but the eyes"
    assert "blink" in engine.honoured_fields()
    assert (
        "blink"
        not in Wav2LipEngine(Wav2LipSettings(impl="upstream"), _context(tmp_path)).honoured_fields()
    )
