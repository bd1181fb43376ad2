"""Notebook 06: where D_Y's patch map finds G(a) fake, read against that horse's own true zebra.

A PatchGAN (paper Section 4 and Appendix 7.2; pix2pix Section 3.2.2) gives one score per patch of its
input. The embedded toy dataset (`cyclegan_edu.data.toy_horse2zebra`) renders each test horse's scene
a second time as a zebra (`testA_truth/`): the same sky, grass and silhouette, only the coat differs.
So the pair shows which pixels a perfect translation changes (the animal) and which it keeps (the
background), and D_Y's map on G(a) can be compared, patch by patch, with its map on the true zebra:
the paired-truth idea of the paper's Section 5.1.1, applied to the discriminator.

    changed_pixels   where a horse and its true zebra differ: the animal
    field_geometry   a conv stack's receptive field, jump and padding offset
    patch_coverage   the share of each score's patch that a pixel mask covers, shaped like the score map
    region_means     the mean score over patches on the animal and over patches that see only background
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def changed_pixels(image: torch.Tensor, truth: torch.Tensor, tolerance: float = 0.1) -> torch.Tensor:
    """(N, 1, H, W) float mask, 1 where any channel of `image` and `truth` (N, 3, H, W) differs by more than
    `tolerance` (images in [-1, 1]). For a toy horse and its true zebra, that is the animal."""
    return ((image - truth).abs().amax(dim=1, keepdim=True) > tolerance).float()


def field_geometry(network: nn.Module) -> tuple[int, int, int]:
    """(field, jump, offset) of the network's convolutions in order: score (i, j) sees the input square of
    side `field` whose top-left pixel is (i * jump - offset, j * jump - offset).

    The field and jump follow r_l = r_{l-1} + (k_l - 1) j_{l-1}, j_l = j_{l-1} s_l (as in
    `patchgan.receptive_field`); each layer's padding p_l shifts the start by p_l j_{l-1} input pixels.
    """
    field, jump, offset = 1, 1, 0
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            field += (module.kernel_size[0] - 1) * jump
            offset += module.padding[0] * jump
            jump *= module.stride[0]
    return field, jump, offset


def patch_coverage(mask: torch.Tensor, network: nn.Module) -> torch.Tensor:
    """(N, 1, h, w): the share of each score's receptive field that `mask` (N, 1, H, W) covers.

    An average over the field's square, laid out like the network's score map; pixels of the field
    outside the image (the zero padding) count as uncovered.
    """
    field, jump, offset = field_geometry(network)
    return F.avg_pool2d(mask, field, stride=jump, padding=offset, count_include_pad=True)


def region_means(scores: torch.Tensor, coverage: torch.Tensor, inside: float = 0.5) -> tuple[float, float]:
    """(mean score of the patches at least `inside` covered, mean score of the patches not covered at all).

    `scores` and `coverage` are (N, 1, h, w) maps of the same shape; for a toy horse the first mean is
    over patches that mostly see the animal, the second over patches that see only background.
    """
    if scores.shape != coverage.shape:
        raise ValueError(f"scores {tuple(scores.shape)} and coverage {tuple(coverage.shape)} must have one shape.")
    covered, uncovered = coverage >= inside, coverage == 0
    return float(scores[covered].mean()), float(scores[uncovered].mean())
