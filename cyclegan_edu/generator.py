"""The ResNet generator of CycleGAN (paper Section 4 and Appendix 7.2; Johnson et al. 2016).

In the paper's notation the 9-block network is

    c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3

c7s1-k: 7x7 conv, stride 1, k filters, instance norm, ReLU; dk: 3x3 conv, stride 2; Rk: a residual
block of two 3x3 convs; uk: 3x3 fractional-strided (transposed) conv, stride 1/2. Reflection padding
reduces border artifacts, instance norm normalizes each image on its own (Section 7.2). The layers
sit in one `nn.Sequential` called `model`, numbered exactly as in the authors' code, so their
checkpoints load without renaming (`model.1` stem conv, `model.10` to `model.18` the 9 blocks,
`model.26` the head).
"""

from __future__ import annotations

import torch
from torch import nn


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    """Instance norm without learned affine and without running statistics (official setting)."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """Rk: x + [ReflPad 1, Conv3, IN, ReLU, ReflPad 1, Conv3, IN](x); no ReLU after the sum."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), instance_norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, C, H, W)
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """G: A -> B (or F: B -> A). Maps (N, 3, H, W) in [-1, 1] to (N, 3, H, W) in [-1, 1].

    Args:
        n_blocks: residual blocks; the paper uses 6 for 128 px images and 9 for 256 px and above.
        width: filters of the first layer (ngf, 64 in the paper); later layers use 2x and 4x.
    H and W must be multiples of 4 for the output to have the input's size.
    """

    def __init__(self, n_blocks: int = 9, width: int = 64, channels: int = 3) -> None:
        super().__init__()
        self.n_blocks, self.width = n_blocks, width
        layers: list[nn.Module] = [  # c7s1-64
            nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), instance_norm(width), nn.ReLU(True)]
        for mult in (1, 2):  # d128, d256
            layers += [nn.Conv2d(width * mult, width * mult * 2, 3, stride=2, padding=1),
                       instance_norm(width * mult * 2), nn.ReLU(True)]
        layers += [ResidualBlock(width * 4) for _ in range(n_blocks)]  # R256 x n_blocks
        for mult in (4, 2):  # u128, u64
            layers += [nn.ConvTranspose2d(width * mult, width * mult // 2, 3, stride=2, padding=1,
                                          output_padding=1),
                       instance_norm(width * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]  # c7s1-3
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> (N, 3, H, W)
        return self.model(x)


def init_weights(network: nn.Module, std: float = 0.02) -> nn.Module:
    """Every conv and transposed conv weight from N(0, 0.02), bias 0 (official `init_weights`)."""
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return network


def count_parameters(network: nn.Module) -> int:
    """Number of trainable parameters (11,378,179 for the 9-block, width-64 generator)."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)
