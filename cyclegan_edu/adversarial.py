"""The GAN objective (paper Section 3.1, Eq. 1; Goodfellow et al. 2014).

    L_GAN(G, D_Y, X, Y) = E_y[log D_Y(y)] + E_x[log(1 - D_Y(G(x)))]

D_Y maximizes it; G minimizes it. Every function here takes raw scores (logits) s, with
D = sigmoid(s), and uses the numerically stable forms log D = -softplus(-s) and
log(1 - D) = -softplus(s).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-(E[log D(y)] + E[log(1 - D(G(x)))]): the negated Eq. 1, which D minimizes."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """E[log(1 - D(G(x)))], the generator's side of Eq. 1. Its gradient vanishes when D wins."""
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(G(x))]: same fixed point, strong gradients when D rejects the fakes."""
    return F.softplus(-fake_logits).mean()


def vanilla_gan_loss(logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Cross-entropy against an all-ones or all-zeros map (the official `vanilla` GANLoss).

    For the generator (target real) this is the non-saturating loss.
    """
    target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def optimal_discriminator(p_data: torch.Tensor, p_generator: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1)."""
    return p_data / (p_data + p_generator)


def set_requires_grad(networks: Iterable[nn.Module], requires_grad: bool) -> None:
    """Freeze or unfreeze networks: D is a fixed judge while G takes its step (official `set_requires_grad`)."""
    for network in networks:
        for parameter in network.parameters():
            parameter.requires_grad_(requires_grad)
