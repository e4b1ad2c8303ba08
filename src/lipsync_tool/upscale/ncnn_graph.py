"""An ncnn model (`.param` + `.bin`) run by PyTorch, for machines whose GPU speaks CUDA but not
Vulkan: the same weights and graph as the ncnn runtime, executed layer by layer with torch ops.

Only the layer types Real-ESRGAN's graphs use are known: Input, Convolution (3x3, optional leaky
ReLU), Split, Concat, Eltwise (weighted sum), BinaryOp (add) and Interp (nearest). Any other
layer is refused when the file is read, never at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ResourceError

if TYPE_CHECKING:
    import torch

MAGIC = 7767517
"""The first line of an ncnn `.param` file."""
FP16_TAG = 0x01306B47
"""The tag before fp16 weights in an ncnn `.bin` file."""
FP32_TAG = 0
"""The tag before raw float32 weights."""
ARRAY_KEY_BASE = -23300
"""An array parameter `k` is written as key `-23300 - k`, its value `count,v1,v2,...`."""
KNOWN = {"Input", "Convolution", "Split", "Concat", "Eltwise", "BinaryOp", "Interp"}


@dataclass
class Layer:
    """One line of a `.param` file, and the weights it owns."""

    kind: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, float | list[float]]
    weights: dict[str, Any] = field(default_factory=dict)

    def get(self, key: int, default: float) -> float:
        value = self.params.get(key, default)
        assert not isinstance(value, list)
        return value


def parse_param(text: str) -> list[Layer]:
    """The layers of a `.param` file, in order."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [str(MAGIC)]:
        raise ResourceError("not an ncnn .param file (its first line is not 7767517)")
    layers = []
    for words in lines[2:]:
        kind, name, n_in, n_out = words[0], words[1], int(words[2]), int(words[3])
        if kind not in KNOWN:
            raise ResourceError(f"ncnn layer {kind} ({name}) is not supported by the torch runner")
        inputs = words[4 : 4 + n_in]
        outputs = words[4 + n_in : 4 + n_in + n_out]
        params: dict[int, float | list[float]] = {}
        for item in words[4 + n_in + n_out :]:
            key_text, value = item.split("=", 1)
            key = int(key_text)
            if key <= ARRAY_KEY_BASE:
                params[ARRAY_KEY_BASE - key] = [float(v) for v in value.split(",")[1:]]
            else:
                params[key] = float(value)
        layer = Layer(kind, name, inputs, outputs, params)
        _check(layer)
        layers.append(layer)
    return layers


def _check(layer: Layer) -> None:
    """Refuse the variants of a known layer that the runner does not implement."""
    unsupported = (
        (layer.kind == "Eltwise" and layer.get(0, 1) != 1)  # only the (weighted) sum
        or (layer.kind == "BinaryOp" and layer.get(0, 0) != 0)  # only add
        or (layer.kind == "Interp" and layer.get(0, 1) != 1)  # only nearest
        or (layer.kind == "Convolution" and layer.get(9, 0) not in (0, 1, 2))
        or (layer.kind == "Concat" and layer.get(0, 0) != 0)  # only along channels
    )
    if unsupported:
        raise ResourceError(f"ncnn layer {layer.name} has options the torch runner lacks")


def read_weights(layers: list[Layer], data: bytes) -> None:
    """Give each Convolution its weight (tagged fp16 or fp32) and bias (raw fp32) from `data`."""
    offset = 0

    def take(count: int, dtype: str) -> np.ndarray:
        nonlocal offset
        size = count * np.dtype(dtype).itemsize
        if offset + size > len(data):
            raise ResourceError("the ncnn .bin file is shorter than its .param says")
        array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        offset += (size + 3) // 4 * 4  # every array starts on a 4-byte boundary
        return array

    for layer in layers:
        if layer.kind != "Convolution":
            continue
        outputs, kernel = int(layer.get(0, 0)), int(layer.get(1, 1))
        count = int(layer.get(6, 0))
        tag = int(take(1, "<u4")[0])
        if tag == FP16_TAG:
            weight = take(count, "<f2").astype(np.float32)
        elif tag == FP32_TAG:
            weight = take(count, "<f4").astype(np.float32)
        else:
            raise ResourceError(f"ncnn weights of {layer.name} are stored as {tag:#x}, not float")
        layer.weights["weight"] = weight.reshape(
            outputs, count // (outputs * kernel**2), kernel, kernel
        )
        if layer.get(5, 0):
            layer.weights["bias"] = take(outputs, "<f4").astype(np.float32)
    if offset != len(data):
        raise ResourceError("the ncnn .bin file does not match its .param")


class NcnnGraph:
    """The graph on a torch device; `__call__` maps the input blob (N, C, H, W) to the output blob."""

    def __init__(self, param: Path, weights: Path, device: str = "cpu") -> None:
        import torch

        self.layers = parse_param(param.read_text())
        read_weights(self.layers, weights.read_bytes())
        self.device = torch.device(device)
        for layer in self.layers:
            layer.weights = {
                k: torch.from_numpy(v).to(self.device) for k, v in layer.weights.items()
            }
        self.input = next(layer.outputs[0] for layer in self.layers if layer.kind == "Input")
        self.output = self.layers[-1].outputs[0]

    def __call__(self, blob: torch.Tensor) -> torch.Tensor:
        import torch

        blobs = {self.input: blob.to(self.device)}
        with torch.inference_mode():
            for layer in self.layers:
                if layer.kind == "Input":
                    continue
                result = self._run(layer, [blobs.pop(name) for name in layer.inputs])
                for name in layer.outputs:
                    blobs[name] = result
        return blobs[self.output]

    @staticmethod
    def _run(layer: Layer, inputs: list[torch.Tensor]) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        if layer.kind == "Split":
            return inputs[0]
        if layer.kind == "Concat":  # along ncnn's default axis: channels
            return torch.cat(inputs, dim=1)
        if layer.kind == "Convolution":
            out = F.conv2d(
                inputs[0],
                layer.weights["weight"],
                layer.weights.get("bias"),
                stride=int(layer.get(3, 1)),
                padding=int(layer.get(4, 0)),
                dilation=int(layer.get(2, 1)),
            )
            activation = int(layer.get(9, 0))
            if activation == 1:
                return F.relu(out)
            if activation == 2:
                slope = layer.params.get(10, [0.0])
                assert isinstance(slope, list)
                return F.leaky_relu(out, slope[0])
            return out
        if layer.kind == "Eltwise":
            coefficients = layer.params.get(1, [1.0] * len(inputs))
            assert isinstance(coefficients, list)
            return sum(c * x for c, x in zip(coefficients, inputs, strict=True))  # type: ignore[return-value]
        if layer.kind == "BinaryOp":
            return inputs[0] + inputs[1]
        # Interp (nearest): 1 and 2 are the height and width scales
        scale = (layer.get(1, 1.0), layer.get(2, 1.0))
        return F.interpolate(inputs[0], scale_factor=scale, mode="nearest")
