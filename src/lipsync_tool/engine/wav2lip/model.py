"""The Wav2Lip generator (our implementation) and a loader for the official checkpoint files.

The network maps a 0.2 s mel window (B, 1, 80, 16) and a face crop (B, 6, 96, 96) -- the
lower-half-masked crop stacked on an unmasked reference, BGR in [0, 1] -- to a new face
(B, 3, 96, 96) in [0, 1]. Its `state_dict()` has exactly the keys, shapes and order of the
official checkpoints once `module.` is put in front of each key, so those files load unchanged.
"""

from __future__ import annotations

import copy
import logging
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from ...errors import ResourceError

log = logging.getLogger(__name__)

KEY_PREFIX = "module."
"""Prefix of every key in the official checkpoints (they were saved from `nn.DataParallel`)."""

_SHOWN = 5  # how many offending keys an error message names
_PICKLE_MAGIC = b"\x80"  # a pickle of protocol 2 or later (torch's legacy format) starts with PROTO

IntPair = int | tuple[int, int]


class ConvNormReLU(nn.Module):
    """Convolution (or transposed convolution) with bias, batch norm, optional identity skip, ReLU.

    The skip, when `residual`, is added after the batch norm and before the ReLU; it needs
    equal input and output shapes. State-dict keys: `conv_block.0.*` (conv), `conv_block.1.*` (norm).
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: IntPair = 1,
        padding: int = 1,
        *,
        residual: bool = False,
        transpose: bool = False,
        output_padding: int = 0,
    ) -> None:
        super().__init__()
        if transpose:
            conv: nn.Module = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding)
        else:
            conv = nn.Conv2d(cin, cout, kernel, stride, padding)
        self.conv_block = nn.Sequential(conv, nn.BatchNorm2d(cout))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_block(x)
        if self.residual:
            y = y + x
        return torch.relu(y)


def _down(cin: int, cout: int, stride: IntPair, repeats: int) -> list[nn.Module]:
    """A strided 3x3 block from `cin` to `cout` channels followed by `repeats` residual 3x3 blocks."""
    return [ConvNormReLU(cin, cout, 3, stride, 1)] + _residuals(cout, repeats)


def _up(cin: int, cout: int, repeats: int) -> list[nn.Module]:
    """A 2x upsampling transposed 3x3 block followed by `repeats` residual 3x3 blocks."""
    return [ConvNormReLU(cin, cout, 3, 2, 1, transpose=True, output_padding=1)] + _residuals(
        cout, repeats
    )


def _residuals(channels: int, repeats: int) -> list[nn.Module]:
    return [ConvNormReLU(channels, channels, 3, 1, 1, residual=True) for _ in range(repeats)]


def _to_1x1(cin: int) -> list[nn.Module]:
    """Collapse a 3x3 map to 1x1 with a valid 3x3 convolution, then a 1x1 convolution (512 channels)."""
    return [ConvNormReLU(cin, 512, 3, 1, 0), ConvNormReLU(512, 512, 1, 1, 0)]


def _face_encoder() -> nn.ModuleList:
    """Seven stages, 6x96x96 down to 512x1x1; each stage's output is kept as a skip feature."""
    stages: Sequence[list[nn.Module]] = (
        [ConvNormReLU(6, 16, 7, 1, 3)],
        _down(16, 32, 2, 2),
        _down(32, 64, 2, 3),
        _down(64, 128, 2, 2),
        _down(128, 256, 2, 2),
        _down(256, 512, 2, 1),
        _to_1x1(512),
    )
    return nn.ModuleList(nn.Sequential(*stage) for stage in stages)


def _audio_encoder() -> nn.Sequential:
    """One chain, a 1x80x16 mel window down to a 512x1x1 embedding (80 -> 27 -> 9 -> 3 -> 1 bins)."""
    layers = [ConvNormReLU(1, 32, 3, 1, 1)] + _residuals(32, 2)
    layers += _down(32, 64, (3, 1), 2)
    layers += _down(64, 128, 3, 2)
    layers += _down(128, 256, (3, 2), 1)
    layers += _to_1x1(256)
    return nn.Sequential(*layers)


def _face_decoder() -> nn.ModuleList:
    """Seven stages, 1x1 up to 96x96; the input channels count the skip feature concatenated before."""
    stages: Sequence[list[nn.Module]] = (
        [ConvNormReLU(512, 512, 1, 1, 0)],
        [ConvNormReLU(1024, 512, 3, 1, 0, transpose=True)] + _residuals(512, 1),
        _up(1024, 512, 2),
        _up(768, 384, 2),
        _up(512, 256, 2),
        _up(320, 128, 2),
        _up(160, 64, 2),
    )
    return nn.ModuleList(nn.Sequential(*stage) for stage in stages)


class Wav2LipGenerator(nn.Module):
    """The Wav2Lip generator: a U-Net over the face whose bottleneck is the audio embedding.

    `forward(audio_windows, face)` takes (B, 1, 80, 16) mel windows and (B, 6, 96, 96) faces
    (channels: masked crop, then reference crop, BGR, in [0, 1]) and returns (B, 3, 96, 96)
    in [0, 1]. Call `.eval()` first: batch norm must use the stored statistics.
    """

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = _face_encoder()
        self.audio_encoder = _audio_encoder()
        self.face_decoder_blocks = _face_decoder()
        self.output_block = nn.Sequential(
            ConvNormReLU(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid()
        )

    def forward(self, audio_windows: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        return self.decode(audio_windows, self.encode_face(face))

    def encode_face(self, face: torch.Tensor) -> list[torch.Tensor]:
        """The face encoder's skip features, shallowest first; reusable for every frame of a still face."""
        skips: list[torch.Tensor] = []
        x = face
        for stage in self.face_encoder_blocks:
            x = stage(x)
            skips.append(x)
        return skips

    def still_decoder(self, face: torch.Tensor, first_row: int = 0) -> nn.Module:
        """For a still face: a module mapping mel windows to the faces `forward` gives, from `first_row` down,
        with the face's own work done once (see `still_decoder.py`)."""
        from .still_decoder import StillFaceDecoder

        return StillFaceDecoder(self, face, first_row)

    def decode(self, audio_windows: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """New faces from mel windows and face features; features of batch 1 are broadcast to the windows' batch."""
        batch = audio_windows.shape[0]
        x = self.audio_encoder(audio_windows)
        depth = len(skips)
        for i, stage in enumerate(self.face_decoder_blocks):
            feature = skips[depth - 1 - i]
            if feature.shape[0] != batch:
                feature = feature.expand(batch, -1, -1, -1)
            x = torch.cat((stage(x), feature), dim=1)
        return self.output_block(x)


def fold_batch_norm(model: Wav2LipGenerator) -> Wav2LipGenerator:
    """An inference copy of `model` with each batch norm folded into its convolution (about 10% faster).

    Eval-mode batch norm is an affine map per channel, so it merges into the preceding
    convolution's weights and bias; the norms become identities. The copy's outputs equal the
    original's to float rounding; its state dict no longer has the official layout.
    """
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, ConvNormReLU) or not isinstance(
            module.conv_block[1], nn.BatchNorm2d
        ):
            continue
        conv, norm = module.conv_block[0], module.conv_block[1]
        assert isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and conv.bias is not None
        assert norm.running_var is not None and norm.running_mean is not None
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        with torch.no_grad():
            # Conv2d weights are (out, in, k, k); ConvTranspose2d weights are (in, out, k, k).
            shape = (1, -1, 1, 1) if isinstance(conv, nn.ConvTranspose2d) else (-1, 1, 1, 1)
            conv.weight.mul_(scale.view(shape))
            conv.bias.copy_((conv.bias - norm.running_mean) * scale + norm.bias)
        module.conv_block[1] = nn.Identity()
    return folded


def load_generator(
    path: str | Path, *, trusted: bool, device: str | torch.device = "cpu"
) -> Wav2LipGenerator:
    """Build the generator from an official checkpoint, in eval mode on `device`.

    Accepts the pickled `.pth` files (a dict whose `state_dict` has `module.`-prefixed keys)
    and the TorchScript archives, told apart by content. Pickles are read with
    `weights_only=True`; a file that needs full unpickling is only unpickled when `trusted`
    (its sha256 matched a known official file, or the user named it explicitly).
    """
    path = Path(path)
    if not path.is_file():
        raise ResourceError(f"Wav2Lip checkpoint {path} does not exist or is not a file.")
    state: Mapping[str, object]
    if _is_torchscript(path):
        log.debug("reading %s as a TorchScript archive", path)
        state = _read_torchscript(path, device)
    else:
        log.debug("reading %s as a pickled checkpoint", path)
        state = _extract_state_dict(_read_pickle(path, trusted=trusted, device=device), path)
    model = Wav2LipGenerator()
    named = _strip_prefix(state)
    _check_state(model, named, path)
    for key, value in model.state_dict().items():
        named.setdefault(
            key, value
        )  # only batch-norm step counters can be absent; inference ignores them
    model.load_state_dict(named, strict=True)
    return model.to(device).eval()


def _is_torchscript(path: Path) -> bool:
    """True when `path` is a zip archive holding TorchScript code and constants."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    parts = [name.split("/") for name in names]
    has_constants = any(p[-1] == "constants.pkl" for p in parts)
    has_code = any("code" in p[:-1] for p in parts)
    return has_constants and has_code


def _read_torchscript(path: Path, device: str | torch.device) -> dict[str, torch.Tensor]:
    """The parameters and buffers of a TorchScript archive, by name (its code is never run)."""
    try:
        scripted = torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # torch raises RuntimeError and others for corrupt archives
        raise ResourceError(
            f"Wav2Lip checkpoint {path} looks like a TorchScript archive but torch could not read it "
            f"({_first_line(exc)}); the download is probably incomplete: delete it and download it again."
        ) from exc
    return dict(scripted.state_dict())


def _read_pickle(path: Path, *, trusted: bool, device: str | torch.device) -> object:
    """`torch.load` with `weights_only=True`, then full unpickling only for a trusted file."""
    mmap = zipfile.is_zipfile(path)  # the legacy (pre-zip) format cannot be memory-mapped
    if not mmap:
        with path.open("rb") as handle:
            head = handle.read(64)
        if head.startswith(b"PK"):
            raise ResourceError(
                f"Wav2Lip checkpoint {path} is a truncated zip archive (an interrupted download?): "
                "delete it and download it again."
            )
        if not head.startswith(_PICKLE_MAGIC):
            shown = head[:24].decode("ascii", "replace").encode("unicode_escape").decode("ascii")
            raise ResourceError(
                f"Wav2Lip checkpoint {path} is corrupt or not a checkpoint at all (neither a zip archive nor a pickle; "
                f"it starts with '{shown}', an HTML page saved instead of the model?): delete it and download it again, "
                "or give --wav2lip-checkpoint a Wav2Lip generator .pth or .pt file."
            )
    try:
        return torch.load(path, map_location=device, weights_only=True, mmap=mmap)
    except (
        Exception
    ) as exc:  # UnpicklingError for foreign objects, RuntimeError/EOFError when corrupt
        if not trusted:
            raise ResourceError(
                f"Wav2Lip checkpoint {path} cannot be read safely ({_first_line(exc)}). It holds Python objects "
                "besides tensors, or it is corrupt (an HTML page saved instead of the model, a partial download), "
                "and its sha256 matches no known official file, so it was not unpickled. Download the official "
                "file again, or pass its path explicitly if you trust it."
            ) from exc
        log.warning(
            "%s needs full unpickling (%s); loading it because it is trusted",
            path,
            _first_line(exc),
        )
    try:
        return torch.load(path, map_location=device, weights_only=False, mmap=mmap)
    except Exception as exc:
        raise ResourceError(
            f"Wav2Lip checkpoint {path} could not be read ({_first_line(exc)}); the file is probably corrupt "
            "or an HTML page saved instead of the model: delete it and download it again."
        ) from exc


def _extract_state_dict(loaded: object, path: Path) -> Mapping[str, object]:
    """The tensors of a loaded checkpoint: its `state_dict` entry, a bare state dict, or a module's."""
    if isinstance(loaded, nn.Module):
        return loaded.state_dict()
    if isinstance(loaded, Mapping):
        inner = loaded.get("state_dict")
        if isinstance(inner, Mapping):
            return inner
        if loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
            return loaded
        keys = ", ".join(map(str, list(loaded)[:_SHOWN]))
        raise ResourceError(
            f"Wav2Lip checkpoint {path} has no 'state_dict' entry (top-level keys: {keys or 'none'}); "
            "it is not a Wav2Lip generator checkpoint (wav2lip.pth or wav2lip_gan.pth)."
        )
    raise ResourceError(
        f"Wav2Lip checkpoint {path} holds a {type(loaded).__name__}, not a dict of tensors; "
        "it is not a Wav2Lip generator checkpoint (wav2lip.pth or wav2lip_gan.pth)."
    )


def _strip_prefix(state: Mapping[str, object]) -> dict[str, object]:
    """Drop the leading `module.` that `nn.DataParallel` put on every key."""
    return {k[len(KEY_PREFIX) :] if k.startswith(KEY_PREFIX) else k: v for k, v in state.items()}


def _check_state(model: nn.Module, state: Mapping[str, object], path: Path) -> None:
    """Raise ResourceError naming the first missing, unexpected or mis-shaped tensors."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(".num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {_shape_of(v)} (expected {tuple(expected[k].shape)})"
        for k, v in state.items()
        if k in expected and _shape_of(v) != tuple(expected[k].shape)
    ]
    problems = [
        f"{label}: {', '.join(items[:_SHOWN])}{', ...' if len(items) > _SHOWN else ''} ({len(items)} in all)"
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong),
        )
        if items
    ]
    if problems:
        raise ResourceError(
            f"Wav2Lip checkpoint {path} does not fit the Wav2Lip generator ({'; '.join(problems)}). "
            "It is another model (a SyncNet or discriminator checkpoint?) or a modified file; "
            "use wav2lip.pth or wav2lip_gan.pth."
        )


def _shape_of(value: object) -> object:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["KEY_PREFIX", "ConvNormReLU", "Wav2LipGenerator", "fold_batch_norm", "load_generator"]
