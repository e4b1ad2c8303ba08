"""Learned upscaling beyond the warp: a finished clip's frames enlarged one by one (SadTalker,
upstream Wav2Lip), Wav2Lip's generated mouth, the GPU choice, and what each engine's estimate adds."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from lipsync_tool.engine.base import EngineJob, FrameStream, NoOptions
from lipsync_tool.engine.registry import ENGINES
from lipsync_tool.engine.wav2lip.paste import FACE_SIZE, FIRST_USED_ROW, bilinear
from lipsync_tool.engine.wav2lip.sharp_mouth import SharpMouth
from lipsync_tool.errors import EngineError, ResourceError
from lipsync_tool.media.frames import iter_frames
from lipsync_tool.request import RenderRequest
from lipsync_tool.upscale.clip import enlarged_clip, exactly
from lipsync_tool.upscale.cost import LearnedWork
from lipsync_tool.upscale.ncnn_graph import NcnnGraph
from lipsync_tool.upscale.realesrgan import (
    RealEsrgan,
    choose_device,
    first_gpu,
    vulkan_device_types,
)
from lipsync_tool.upscale.tiles import read_pixels

from .upscale_helpers import packaged_network, sharpness


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> RealEsrgan:
    return packaged_network(tmp_path_factory.mktemp("cache"))


def numbered(count: int) -> list[np.ndarray]:
    return [np.full((2, 2, 3), i, np.uint8) for i in range(count)]


def test_a_clip_gives_exactly_the_frames_the_video_needs() -> None:
    def frames(count: int):  # a generator, as the decoder is
        yield from numbered(count)

    padded = [int(f[0, 0, 0]) for f in exactly(frames(3), 5)]
    assert padded == [0, 1, 2, 2, 2], "a short clip repeats its last frame"
    assert [int(f[0, 0, 0]) for f in exactly(frames(6), 4)] == [0, 1, 2, 3]
    with pytest.raises(EngineError, match="no frames"):
        list(exactly(frames(0), 2))


def test_a_gpu_is_a_device_that_is_not_a_cpu(network: RealEsrgan) -> None:
    assert first_gpu([]) is None
    assert first_gpu([3]) is None, "llvmpipe, Mesa's software Vulkan, is a CPU"
    assert first_gpu([3, 0]) == 1 and first_gpu([1]) == 0
    import ncnn

    kinds = vulkan_device_types(ncnn)
    from lipsync_tool.machine import gpu_count

    if gpu_count() == 0:
        assert network.device is None, "no NVIDIA GPU: the CPU runs the network"
        assert first_gpu(kinds) is None, f"only software Vulkan devices here: {kinds}"


def test_the_vulkan_path_draws_what_the_cpu_draws(
    network: RealEsrgan, astronaut: np.ndarray, tmp_path: Path
) -> None:
    """The code path a GPU takes, on whichever Vulkan device is here (in CI Mesa's llvmpipe, a CPU
    that speaks Vulkan): the same picture as the CPU path, within Vulkan's fp16 storage."""
    import ncnn

    from .local_services import skip_or_fail

    kinds = vulkan_device_types(ncnn)
    skip_or_fail(
        None if kinds else "no Vulkan device: apt-get install libvulkan1 mesa-vulkan-drivers",
        "LIPSYNC_REQUIRE_VULKAN",
    )
    on_vulkan = packaged_network(tmp_path, device=0)
    assert on_vulkan.device == 0
    face = cv2.resize(astronaut[90:290, 170:330], (20, 24), interpolation=cv2.INTER_AREA)
    cpu, vulkan = network.enlarge(face), on_vulkan.enlarge(face)
    assert vulkan.shape == cpu.shape == (96, 80, 3)
    difference = np.abs(vulkan.astype(int) - cpu)
    assert difference.mean() < 1.0 and difference.max() < 16, (difference.mean(), difference.max())
    assert difference.max() > 0, "it ran on Vulkan (fp16 storage), not on the CPU again"
    assert sharpness(vulkan) > 0.8 * sharpness(cpu)


def test_the_torch_runner_draws_what_ncnn_draws(
    network: RealEsrgan, astronaut: np.ndarray, tmp_path: Path
) -> None:
    """The same .param and .bin run by PyTorch (what a CUDA machine without Vulkan uses), here on
    the CPU: the picture of ncnn's own runtime."""
    pytest.importorskip("torch")
    on_torch = packaged_network(tmp_path, device="cpu")
    assert on_torch.device == "cpu"
    face = cv2.resize(astronaut[90:290, 170:330], (20, 24), interpolation=cv2.INTER_AREA)
    ncnn_out, torch_out = network.run(face), on_torch.run(face)
    assert torch_out.shape == ncnn_out.shape == (96, 80, 3)
    assert np.abs(torch_out - ncnn_out).max() < 0.05, "within float rounding, on the 0-255 scale"


def test_the_device_is_a_vulkan_gpu_then_cuda_then_the_cpu() -> None:
    assert choose_device(1, torch_cuda=True) == 1
    assert choose_device(None, torch_cuda=True) == "cuda"
    assert choose_device(None, torch_cuda=False) is None


def _tiny_model(folder: Path, layer: str, weights: bytes) -> tuple[Path, Path]:
    param = folder / "tiny.param"
    param.write_text(f"7767517\n2 2\nInput in 0 1 data\n{layer}\n")
    (folder / "tiny.bin").write_bytes(weights)
    return param, folder / "tiny.bin"


def test_the_torch_runner_reads_ncnn_files_and_refuses_what_it_lacks(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    weight = np.arange(6, dtype=np.float32).reshape(2, 3, 1, 1) / 10
    bias = np.array([0.5, -0.25], np.float32)
    fp32 = struct.pack("<I", 0) + weight.tobytes() + bias.tobytes()
    conv = "Convolution conv 1 1 data out 0=2 1=1 5=1 6=6"
    graph = NcnnGraph(*_tiny_model(tmp_path, conv, fp32))
    blob = torch.rand(1, 3, 4, 5)
    expected = np.einsum("oc,chw->ohw", weight[:, :, 0, 0], blob[0].numpy()) + bias[:, None, None]
    assert np.allclose(graph(blob)[0].numpy(), expected, atol=1e-6)
    fp16 = struct.pack("<I", 0x01306B47) + weight.astype(np.float16).tobytes() + bias.tobytes()
    assert np.allclose(
        NcnnGraph(*_tiny_model(tmp_path, conv, fp16))(blob)[0].numpy(), expected, atol=2e-3
    )
    with pytest.raises(ResourceError, match="shorter"):
        NcnnGraph(*_tiny_model(tmp_path, conv, fp32[:-4]))
    with pytest.raises(ResourceError, match="Softmax"):
        NcnnGraph(*_tiny_model(tmp_path, "Softmax soft 1 1 data out", b""))
    with pytest.raises(ResourceError, match="options"):
        NcnnGraph(*_tiny_model(tmp_path, "BinaryOp mul 1 1 data out 0=2", b""))


def _testsrc(path: Path, ffmpeg: str, size: str, frames: int) -> Path:
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25"]
        + ["-frames:v", str(frames), "-pix_fmt", "yuv420p", "-y", str(path)],
        check=True,
    )
    return path


def _job(tmp_path: Path, frame_count: int, seen: list[tuple[str, int, int | None]]) -> EngineJob:
    portrait = np.zeros((96, 80, 3), np.uint8)  # another size than the clip's: read whole
    return EngineJob(
        portrait_path=tmp_path / "p.png",
        portrait=portrait,
        face=None,  # type: ignore[arg-type]
        audio_path=tmp_path / "s.wav",
        speech=None,  # type: ignore[arg-type]
        frame_count=frame_count,
        request=RenderRequest(
            portrait=tmp_path / "p.png", audio=tmp_path / "s.wav", output=tmp_path / "o.mp4"
        ),
        options=NoOptions(),
        work_dir=tmp_path,
        mouth=None,  # type: ignore[arg-type]
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )


def test_a_finished_clip_is_enlarged_frame_by_frame_to_1080_lines(
    network: RealEsrgan, tmp_path: Path, ffmpeg: str
) -> None:
    clip = _testsrc(tmp_path / "clip.mp4", ffmpeg, "64x48", 6)
    seen: list[tuple[str, int, int | None]] = []
    stream = enlarged_clip(ffmpeg, clip, _job(tmp_path, 8, seen), network)
    assert isinstance(stream, FrameStream)
    assert stream.size == (1440, 1080) and stream.count == 8
    frames = list(stream.frames)
    assert len(frames) == 8 and all(f.shape == (1080, 1440, 3) for f in frames)
    assert np.array_equal(frames[7], frames[5]), "the short clip's last frame repeats"
    assert seen[0] == ("upscale", 0, 8) and seen[-1] == ("upscale", 8, 8)
    source = next(iter_frames(ffmpeg, clip))
    bicubic = cv2.resize(source, (1440, 1080), interpolation=cv2.INTER_CUBIC)
    assert sharpness(frames[0]) > 1.3 * sharpness(bicubic), "the network's detail is there"
    assert np.abs(frames[0].astype(int) - bicubic).mean() < 12, "and the picture is the clip's"


def test_the_generated_mouth_gets_the_networks_detail_below_the_masked_rows(
    network: RealEsrgan, astronaut: np.ndarray
) -> None:
    face = cv2.resize(astronaut[100:300, 160:340], (FACE_SIZE, FACE_SIZE), cv2.INTER_AREA)
    face = face.astype(np.float32)
    size = (400, 400)
    sharp, plain = SharpMouth(network)(face, size), bilinear(face, size)
    assert sharp.shape == plain.shape == (400, 400, 3) and sharp.dtype == np.float32
    top = round(FIRST_USED_ROW * 400 / FACE_SIZE)
    lower = (slice(top + 8, 400), slice(0, 400))

    def crisp(image: np.ndarray) -> float:
        return sharpness(np.clip(image + 0.5, 0, 255).astype(np.uint8))

    assert crisp(sharp[lower]) > 2 * crisp(plain[lower])
    assert np.abs(sharp[lower] - plain[lower]).mean() < 10, "the same mouth, crisper"
    small = SharpMouth(network)(face, (110, 110))
    bicubic = cv2.resize(face, (110, 110), interpolation=cv2.INTER_CUBIC)
    assert np.allclose(small, bicubic, atol=1e-3), "a box hardly larger than 96 px stays bicubic"


def test_each_engine_says_what_the_network_reads() -> None:
    warp, wav2lip, sadtalker = (ENGINES[n].learned_work(512, 512) for n in ENGINES)
    head = round((0.55 * 512 * 512) ** 0.5)  # a header tells no more than the head's share
    assert warp == LearnedWork(once=read_pixels(head, head))
    assert wav2lip.once == warp.once
    assert wav2lip.per_frame == read_pixels(96, 96 - FIRST_USED_ROW), "the mouth rows a frame"
    assert sadtalker.once == 0 and sadtalker.per_frame == read_pixels(256, 256), "its face crops"
    assert ENGINES["warp"].learned_work(960, 1000) == LearnedWork(), "1080 lines nearly: bicubic"
    assert wav2lip.seconds(250) > 5 * warp.seconds(250), "a mouth a frame adds up"
