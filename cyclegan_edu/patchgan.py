"""PatchGAN discriminators (paper Section 4 and Appendix 7.2; Isola et al. 2017, pix2pix).

A 70x70 PatchGAN does not say "real or fake" for the whole image: it outputs a map of scores, one
per overlapping 70x70 patch (a 30x30 map for a 256 px image). It has fewer parameters than a
full-image discriminator and works on images of any size. In the paper's notation:

    C64-C128-C256-C512, then a conv to 1 channel

Ck: 4x4 conv, instance norm, LeakyReLU(0.2); the first C64 has no norm; the first three convs use
stride 2, the last two stride 1; all padding 1; no sigmoid (the loss takes raw scores).
The comparison points of pix2pix Section 4.4 are here too: a 1x1 PixelGAN, a 16x16 PatchGAN and a
full-image ("ImageGAN") discriminator whose every output sees the whole image.
"""

from __future__ import annotations

from torch import nn

DISCRIMINATOR_KINDS = ("patch70", "patch16", "pixel", "image")


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    """Instance norm without learned affine and without running statistics, as in the generator."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def leaky_relu() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, True)


class PatchDiscriminator(nn.Sequential):
    """N-layer PatchGAN (official `NLayerDiscriminator`): (N, 3, H, W) -> (N, 1, h, w) raw scores.

    `n_layers=3` is the 70x70 PatchGAN (2,764,737 parameters at width 64), `n_layers=1` a 16x16 one.
    """

    def __init__(self, n_layers: int = 3, width: int = 64, channels: int = 3) -> None:
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, stride=2, padding=1), leaky_relu()]
        out_channels = width
        for n in range(1, n_layers + 1):
            in_channels, out_channels = out_channels, width * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1  # the last C layer keeps the resolution
            layers += [nn.Conv2d(in_channels, out_channels, 4, stride=stride, padding=1),
                       instance_norm(out_channels), leaky_relu()]
        layers.append(nn.Conv2d(out_channels, 1, 4, stride=1, padding=1))
        super().__init__(*layers)


class PixelDiscriminator(nn.Sequential):
    """1x1 PixelGAN (official `PixelDiscriminator`): judges every pixel's colour on its own."""

    def __init__(self, width: int = 64, channels: int = 3) -> None:
        super().__init__(
            nn.Conv2d(channels, width, 1), leaky_relu(),
            nn.Conv2d(width, width * 2, 1), instance_norm(width * 2), leaky_relu(),
            nn.Conv2d(width * 2, 1, 1),
        )


def receptive_field(network: nn.Module) -> int:
    """Side of the input patch that one output score sees, from the conv layers in order.

    Walking forward: each k x k conv widens the field by (k - 1) times the current jump (the
    product of earlier strides), and its stride multiplies the jump. 70 for the 70x70 PatchGAN.
    """
    field, jump = 1, 1
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            field += (module.kernel_size[0] - 1) * jump
            jump *= module.stride[0]
    return field


def full_image_layers(image_size: int) -> int:
    """Fewest PatchGAN layers whose receptive field covers an image_size x image_size image."""
    n_layers = 1
    while receptive_field(PatchDiscriminator(n_layers, width=1)) < image_size:
        n_layers += 1
    return n_layers


def build_discriminator(kind: str = "patch70", width: int = 64, image_size: int = 256) -> nn.Module:
    """One of DISCRIMINATOR_KINDS; "patch70" is the paper's choice."""
    if kind == "patch70":
        return PatchDiscriminator(3, width)
    if kind == "patch16":
        return PatchDiscriminator(1, width)
    if kind == "pixel":
        return PixelDiscriminator(width)
    if kind == "image":
        return PatchDiscriminator(full_image_layers(image_size), width)
    raise ValueError(f"discriminator={kind!r}: choose one of {', '.join(DISCRIMINATOR_KINDS)}.")
