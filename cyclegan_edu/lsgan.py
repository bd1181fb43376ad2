"""Least-squares GAN loss (paper Section 4, "Training details"; Mao et al. 2017).

The paper replaces the log likelihood of Eq. 1 with a least-squares loss, which trains more
stably and gives better results:

    G minimizes   E_x[(D(G(x)) - 1)^2]
    D minimizes   E_y[(D(y) - 1)^2] + E_x[D(G(x))^2]

A fake far on the "real" side of the decision boundary still gets a gradient proportional to its
distance, where the sigmoid cross-entropy saturates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

GanLoss = Callable[[torch.Tensor, bool], torch.Tensor]  # (scores, target_is_real) -> loss


def lsgan_loss(scores: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Mean squared distance of the score map to 1 (real) or 0 (fake) (official `lsgan` GANLoss)."""
    target = torch.ones_like(scores) if target_is_real else torch.zeros_like(scores)
    return F.mse_loss(scores, target)


def halved_discriminator_loss(gan_loss: GanLoss, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """(GAN(D(y), real) + GAN(D(G(x)), fake)) / 2, for either GAN loss.

    Appendix 7.1: "In practice, we divide the objective by 2 while optimizing D, which slows down the rate at which
    D learns, relative to the rate of G" (official `backward_D_basic`, in its order of operations).
    """
    return (gan_loss(real_scores, True) + gan_loss(fake_scores, False)) * 0.5


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """0.5 * (E[(D(y) - 1)^2] + E[D(G(x))^2]): D's least-squares loss, halved."""
    return halved_discriminator_loss(lsgan_loss, real_scores, fake_scores)


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """E[(D(G(x)) - 1)^2]."""
    return lsgan_loss(fake_scores, True)
