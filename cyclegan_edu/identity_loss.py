"""Identity mapping loss (paper Section 5.2, "Photo generation from paintings"; Taigman et al. 2017).

Given an image that already belongs to its target domain, a generator should leave it alone:

    L_identity(G, F) = E_y[ ||G(y) - y||_1 ] + E_x[ ||F(x) - x||_1 ]

weighted by 0.5 * lambda in the paper. Without it, G and F are free to change the tint of inputs
(the paper's Monet paintings turned from daytime to sunset colours).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def identity_loss(real: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """||same - real||_1 / n, where same = G(real) for real already in G's target domain."""
    return F.l1_loss(same, real)
