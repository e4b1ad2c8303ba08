"""Real-ESRGAN x4plus on the ncnn runtime (the `[upscale]` extra): RGB in, 4x larger RGB out.

It runs on the CPU, or on the GPU of a machine with an NVIDIA driver: through Vulkan where ncnn
finds a Vulkan GPU, else, where PyTorch sees CUDA, the same files run by torch (`ncnn_graph`).
ncnn also lists software Vulkan devices (Mesa's llvmpipe, on most Linux machines): those are CPUs
and are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import EngineUnavailableError, ResourceError
from ..machine import threads
from ..native_output import native_stderr_to_debug_log
from .tiles import run_tiled

if TYPE_CHECKING:
    from .ncnn_graph import NcnnGraph

log = logging.getLogger(__name__)

EXTRA_HINT = 'pip install "lipsync-tool[upscale]"'
MODEL = "realesrgan-x4plus"
SCALE = 4
Device = int | str | None
"""Where the network runs: a Vulkan device's index (ncnn), a PyTorch device name, None (ncnn's CPU)."""
CPU_DEVICE_TYPE = 3
"""ncnn's GpuInfo.type() of a software device (0 discrete, 1 integrated, 2 virtual, 3 CPU)."""


def installed() -> bool:
    """Whether the ncnn runtime can be imported."""
    import importlib.util

    return importlib.util.find_spec("ncnn") is not None


def _ncnn() -> Any:
    try:
        import ncnn
    except ImportError:
        raise EngineUnavailableError(
            f"--upscaler realesrgan needs the ncnn runtime; install it with: {EXTRA_HINT}"
        ) from None
    return ncnn


class RealEsrgan:
    """The x4plus network, loaded once; `enlarge` runs it over an image of any size in tiles."""

    scale = SCALE

    def __init__(
        self,
        param: Path,
        weights: Path,
        num_threads: int | None = None,
        device: Device | Literal["auto"] = "auto",
    ) -> None:
        """`device`: a Vulkan device's index, a PyTorch device name ("cuda": the same files run
        by torch), None for ncnn on the CPU, or "auto" (`choose_device`)."""
        ncnn = _ncnn()
        self._ncnn = ncnn
        if device == "auto":
            device = choose_device(vulkan_device(ncnn), _torch_cuda())
        self.device: Device = device
        self._graph: NcnnGraph | None = None
        if isinstance(device, str):
            from .ncnn_graph import NcnnGraph

            self._graph = NcnnGraph(param, weights, device)
            log.info("Real-ESRGAN runs on PyTorch's %s", device)
            return
        net = ncnn.Net()
        net.opt.use_vulkan_compute = device is not None
        if device is not None:
            net.set_vulkan_device(device)
            log.info("Real-ESRGAN runs on %s", ncnn.get_gpu_info(device).device_name())
        net.opt.num_threads = num_threads or threads(default=_cores())
        if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
            raise ResourceError(f"ncnn could not load {param} and {weights}; fetch them again")
        self._net = net

    @classmethod
    def from_cache(cls, cache_dir: Path) -> RealEsrgan:
        """The network from the resource cache (taken from the installed package or downloaded)."""
        from ..resources.store import ResourceStore
        from ..resources.table import for_engine

        _ncnn()  # the missing runtime is named before any download starts
        paths = ResourceStore(cache_dir).ensure(for_engine("upscale"))
        return cls(paths[f"{MODEL}.param"], paths[f"{MODEL}.bin"])

    def run(self, rgb: np.ndarray) -> np.ndarray:
        """One tile: uint8 RGB (h, w, 3) → float32 RGB (4h, 4w, 3) on the 0–255 scale."""
        if self._graph is not None:
            import torch

            blob = torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
            out = self._graph(blob)[0].float().cpu().numpy()
            return out.transpose(1, 2, 0) * 255.0
        ncnn = self._ncnn
        height, width = rgb.shape[:2]
        mat = ncnn.Mat.from_pixels(rgb, ncnn.Mat.PixelType.PIXEL_RGB, width, height)
        mat.substract_mean_normalize([], [1 / 255.0] * 3)
        extractor = self._net.create_extractor()
        extractor.input("data", mat)
        status, out = extractor.extract("output")
        if status != 0:
            raise ResourceError(f"the Real-ESRGAN network failed on a {width}x{height} tile")
        return np.asarray(out).transpose(1, 2, 0) * 255.0

    def enlarge(self, rgb: np.ndarray) -> np.ndarray:
        """The whole image 4x larger (uint8), in tiles."""
        out = run_tiled(np.ascontiguousarray(rgb), self.run, SCALE)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def choose_device(vulkan: int | None, torch_cuda: bool) -> Device:
    """A Vulkan GPU for ncnn if there is one, else CUDA through PyTorch, else ncnn on the CPU."""
    if vulkan is not None:
        return vulkan
    return "cuda" if torch_cuda else None


def _torch_cuda() -> bool:
    """Whether PyTorch is installed and sees a CUDA GPU (asked only where nvidia-smi lists one)."""
    import importlib.util

    from ..machine import gpu_count

    if gpu_count() == 0 or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def first_gpu(device_types: list[int]) -> int | None:
    """The index of the first device that is not a CPU, if any."""
    return next((i for i, kind in enumerate(device_types) if kind != CPU_DEVICE_TYPE), None)


def vulkan_device(ncnn: Any) -> int | None:
    """The Vulkan GPU to run on: only on a machine with an NVIDIA GPU (asking ncnn elsewhere would
    start Vulkan for nothing but llvmpipe), and never a software device."""
    from ..machine import gpu_count

    if gpu_count() == 0:
        return None
    return first_gpu(vulkan_device_types(ncnn))


def vulkan_device_types(ncnn: Any) -> list[int]:
    """The type of each Vulkan device ncnn finds (none without a Vulkan loader)."""
    with native_stderr_to_debug_log(log, "ncnn"):  # every device's capabilities
        return [ncnn.get_gpu_info(i).type() for i in range(ncnn.get_gpu_count())]


def quiet_stderr() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null for the duration (for output from C code)."""
    import os

    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _cores() -> int:
    from ..machine import default_workers

    return default_workers()
