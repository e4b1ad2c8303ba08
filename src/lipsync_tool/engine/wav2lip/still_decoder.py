"""The generator's decoder specialised to one still face: the same numbers, less work per frame.

Two exact shortcuts, both possible because the face (and so every skip feature) is the same
in every frame of a still portrait:

- Each decoder stage starts with a (transposed) convolution of `cat(previous, skip)`. That is
  a sum of the convolution of `previous` with its share of the weights and the convolution of
  `skip` with the rest; the second term, with the bias, is computed once per portrait.
- Only the rows the paste-back uses are decoded. Convolutions are local, so the last two
  stages can run on the lower rows only; a 3x3 convolution on a cut-out lacks the row above
  it and is wrong in its top row, a transposed one is exact, so a few rows of margin make
  every row from `first_row` on equal to the full network's (tested).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from .model import ConvNormReLU, Wav2LipGenerator

FACE_ROWS = 96
SLICED_STAGE = 5
"""The decoder stage (24 -> 48 rows) from which only the lower rows are computed."""
CORRUPT_ROWS = 7
"""Rows at the top of a 96-row cut-out that differ from the full network: 2 residual convolutions at 48
rows (4 rows at 96 after upsampling), 2 residual convolutions and the output convolution at 96."""


class _SplitLayer(nn.Module):
    """The first layer of a decoder stage with the skip feature's share precomputed."""

    own_weight: torch.Tensor
    constant: torch.Tensor

    def __init__(self, layer: ConvNormReLU, skip: torch.Tensor, first_out_row: int) -> None:
        super().__init__()
        conv, self.norm = layer.conv_block[0], layer.conv_block[1]
        assert isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and conv.bias is not None
        own = conv.in_channels - skip.shape[1]
        self.transpose = isinstance(conv, nn.ConvTranspose2d)
        self.stride: tuple[int, ...] = tuple(conv.stride)
        self.padding: tuple[int, ...] = tuple(conv.padding)  # type: ignore[arg-type]
        self.output_padding: tuple[int, ...] = (
            tuple(conv.output_padding) if isinstance(conv, nn.ConvTranspose2d) else (0, 0)
        )
        weight = conv.weight
        own_weight, skip_weight = (
            (weight[:own], weight[own:]) if self.transpose else (weight[:, :own], weight[:, own:])
        )
        self.register_buffer("own_weight", own_weight.contiguous())
        constant = self._conv(skip, skip_weight) + conv.bias.view(1, -1, 1, 1)
        self.register_buffer(
            "constant", constant[:, :, first_out_row:].contiguous(memory_format=torch.channels_last)
        )

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.transpose:
            return F.conv_transpose2d(
                x, weight, None, self.stride, self.padding, self.output_padding
            )
        return F.conv2d(x, weight, None, self.stride, self.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self._conv(x, self.own_weight) + self.constant))


class StillFaceDecoder(nn.Module):
    """`decoder(mel_windows)` = `generator(mel_windows, face)` for one fixed face, on rows `first_row`..95.

    Rows above `exact_from` (<= `first_row`) hold the reference crop instead (the paste-back never uses them).
    """

    def __init__(self, generator: Wav2LipGenerator, face: torch.Tensor, first_row: int = 0) -> None:
        super().__init__()
        with torch.inference_mode(False), torch.no_grad():
            skips = [s.clone() for s in generator.encode_face(face)]
        # Where the cut-out starts at each scale; 0 when everything is computed.
        rows_24 = max(0, (first_row - CORRUPT_ROWS) // 4)
        self.cut = {24: rows_24, 48: 2 * rows_24, 96: 4 * rows_24}
        self.exact_from = 4 * rows_24 + CORRUPT_ROWS if rows_24 else 0
        self.audio_encoder = generator.audio_encoder
        blocks = cast(nn.ModuleList, generator.face_decoder_blocks)
        self.first_stage = blocks[0]
        depth = len(skips)
        stages = []
        with torch.no_grad():
            for index in range(1, len(blocks)):
                stage = list(cast(nn.Sequential, blocks[index]))
                out_rows = self._out_cut(index)
                split = _SplitLayer(cast(ConvNormReLU, stage[0]), skips[depth - index], out_rows)
                stages.append(nn.Sequential(split, *stage[1:]))
            self.stages = nn.ModuleList(stages)
            output_block = list(cast(nn.Sequential, generator.output_block))
            first = _SplitLayer(cast(ConvNormReLU, output_block[0]), skips[0], self.cut[96])
            self.output = nn.Sequential(first, *output_block[1:])
        self.reference: torch.Tensor
        self.register_buffer("reference", face[:, 3:].clone())

    def _out_cut(self, stage: int) -> int:
        """Rows cut from the top of decoder stage `stage`'s output."""
        if stage == SLICED_STAGE:
            return self.cut[48]
        return self.cut[96] if stage == SLICED_STAGE + 1 else 0

    def forward(self, mel_windows: torch.Tensor) -> torch.Tensor:
        x = self.first_stage(self.audio_encoder(mel_windows))
        for index, stage in enumerate(self.stages, start=1):
            if index == SLICED_STAGE:
                x = x[:, :, self.cut[24] :]
            x = stage(x)
        lower = self.output(x)
        if not self.cut[96]:
            return lower
        top = (
            self.reference[:, :, : self.cut[96]].expand(lower.shape[0], -1, -1, -1).to(lower.dtype)
        )
        return torch.cat((top, lower), dim=2)
