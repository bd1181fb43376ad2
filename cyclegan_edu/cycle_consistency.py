"""Cycle consistency (paper Section 3.2, Eq. 2).

Adversarial training alone can map the inputs to any permutation of target images. The paper asks
the two mappings to undo each other:

    L_cyc(G, F) = E_x[ ||F(G(x)) - x||_1 ]   (forward cycle:  x -> G(x) -> F(G(x)) ~ x)
                + E_y[ ||G(F(y)) - y||_1 ]   (backward cycle: y -> F(y) -> G(F(y)) ~ y)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Mapping = Callable[[torch.Tensor], torch.Tensor]


def cycle_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """Mean absolute error ||reconstructed - real||_1 / n, one term of Eq. 2."""
    return F.l1_loss(reconstructed, real)


def forward_cycle_loss(real_a: torch.Tensor, a_to_b: Mapping, b_to_a: Mapping) -> torch.Tensor:
    """E_x ||F(G(x)) - x||_1, with G = a_to_b and F = b_to_a."""
    return cycle_loss(real_a, b_to_a(a_to_b(real_a)))


def backward_cycle_loss(real_b: torch.Tensor, a_to_b: Mapping, b_to_a: Mapping) -> torch.Tensor:
    """E_y ||G(F(y)) - y||_1, with G = a_to_b and F = b_to_a."""
    return cycle_loss(real_b, a_to_b(b_to_a(real_b)))
