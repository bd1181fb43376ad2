"""Notebook 04: why least squares helps, in the setting of Mao et al. 2017 (LSGAN, Section 3 and Fig. 1).

CycleGAN trains with a least-squares GAN loss instead of the log likelihood of Eq. 1 (paper Section 4,
"Training details"). Mao et al. argue why: a discriminator trained with sigmoid cross-entropy gives
almost no error to fakes that lie on the real side of its decision boundary, even far from the real
data, so they stop moving; the least-squares loss penalizes them by their distance and keeps pulling.

The experiment, on a line so that a fake's position can be the x axis of a plot:

1. Real data and the generator's current fakes are two Gaussians. One discriminator per loss family is
   fitted on them and then fixed: with sigmoid cross-entropy (a logit s, Eq. 1) and with least squares
   (a score with targets 1 real, 0 fake), both halved as in the paper's Appendix 7.1. By default D is
   linear, as the decision boundaries of Mao et al.'s Fig. 1 are.
2. Fakes are placed far on the real side: beyond the data, where D already calls them real.
3. Each generator loss moves them by k plain gradient steps on the samples themselves (a generator free
   to put every sample anywhere; a real one multiplies by the same dx/dtheta whatever the loss):
       minimax         log(1 - sigmoid(s))   (Eq. 1; its push on the real side does not vanish, but it
                                              points to larger logits, away from the data)
       non_saturating  -log sigmoid(s)       (sigmoid cross-entropy against the real label; the official
                                              `vanilla` GANLoss; its push vanishes like exp(-s))
       least_squares   (s - 1)^2             (pulls the score back to 1, where the real data are)
4. We measure the mean distance to the nearest real sample before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cyclegan_edu.adversarial import minimax_generator_loss, non_saturating_generator_loss, vanilla_gan_loss
from cyclegan_edu.course.toy2d import mlp, one_cpu_thread
from cyclegan_edu.lsgan import GanLoss, halved_discriminator_loss, lsgan_generator_loss, lsgan_loss


@dataclass(frozen=True)
class LineData:
    """Real data and the generator's current fakes: two Gaussians on a line, the fakes left of the data."""

    real_mean: float = 2.0
    fake_mean: float = -2.0
    std: float = 0.5

    def sample_real(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, 1) real samples."""
        return self.real_mean + self.std * torch.randn(n, 1, generator=generator)

    def sample_fake(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, 1) samples of the generator as it is now."""
        return self.fake_mean + self.std * torch.randn(n, 1, generator=generator)


@dataclass(frozen=True)
class Family:
    """A discriminator loss and the output at which its D is undecided (its decision boundary)."""

    gan_loss: GanLoss  # (scores, target_is_real) -> loss
    boundary_output: float  # logit 0 (sigmoid 1/2) for cross-entropy; 1/2, halfway between the targets, for LS


FAMILIES: dict[str, Family] = {
    "cross_entropy": Family(vanilla_gan_loss, 0.0),
    "least_squares": Family(lsgan_loss, 0.5),
}


@dataclass(frozen=True)
class GeneratorLoss:
    """A generator loss on D's raw outputs, and the family of the D that scores its fakes."""

    loss: Callable[[torch.Tensor], torch.Tensor]
    family: str


GENERATOR_LOSSES: dict[str, GeneratorLoss] = {
    "minimax": GeneratorLoss(minimax_generator_loss, "cross_entropy"),
    "non_saturating": GeneratorLoss(non_saturating_generator_loss, "cross_entropy"),
    "least_squares": GeneratorLoss(lsgan_generator_loss, "least_squares"),
}


def fit_discriminator(data: LineData, family: str, depth: int = 1, hidden: int = 32, steps: int = 500,
                      batch_size: int = 256, lr: float = 0.01, seed: int = 0) -> nn.Sequential:
    """D: (N, 1) positions -> (N, 1) raw outputs, fitted to real against current fakes, on one CPU thread.

    The objective is CycleGAN's (Appendix 7.1): (GAN(D(y), real) + GAN(D(G(x)), fake)) / 2, with the
    family's GAN loss. `depth` 1 is a linear D; larger depths are the ReLU MLPs of notebooks 01 to 03.
    """
    gan_loss = FAMILIES[family].gan_loss
    torch.manual_seed(seed)
    samples = torch.Generator().manual_seed(seed + 1)
    discriminator = mlp(1, 1, hidden, depth)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    with one_cpu_thread():
        for _ in range(steps):
            real, fake = data.sample_real(batch_size, samples), data.sample_fake(batch_size, samples)  # (B, 1)
            optimizer.zero_grad()
            halved_discriminator_loss(gan_loss, discriminator(real), discriminator(fake)).backward()
            optimizer.step()
    return discriminator.requires_grad_(False)  # fixed from now on


def crossing(discriminator: nn.Module, output: float, low: float, high: float, points: int = 4001) -> float:
    """The first position in [low, high] where D's output crosses `output` (linear interpolation on a
    grid of `points` positions); raises ValueError if it does not cross there."""
    positions = torch.linspace(low, high, points).unsqueeze(1)  # (P, 1)
    with torch.no_grad():
        offset = discriminator(positions).squeeze(1) - output  # (P,)
    crossings = ((offset[:-1] <= 0) != (offset[1:] <= 0)).nonzero()
    if len(crossings) == 0:
        raise ValueError(f"D's output does not cross {output} between {low} and {high}.")
    i = int(crossings[0])
    x0, x1, y0, y1 = float(positions[i]), float(positions[i + 1]), float(offset[i]), float(offset[i + 1])
    return x0 + (x1 - x0) * y0 / (y0 - y1)


def decision_boundary(discriminator: nn.Module, family: str, low: float, high: float) -> float:
    """Where D is undecided between real and fake: logit 0 for cross-entropy, score 1/2 for least squares."""
    return crossing(discriminator, FAMILIES[family].boundary_output, low, high)


def says_real(discriminator: nn.Module, family: str, positions: torch.Tensor) -> torch.Tensor:
    """(N,) bool: D's output on `positions` (N, 1) is on the real side of its boundary."""
    with torch.no_grad():
        return discriminator(positions).squeeze(1) > FAMILIES[family].boundary_output


def sample_gradients(loss: str, discriminator: nn.Module, positions: torch.Tensor) -> torch.Tensor:
    """(N, 1): d loss / d x for each fake x in `positions` (N, 1), as if it were alone in its batch
    (the losses are means over the batch: scaling by N undoes the 1/N)."""
    fakes = positions.detach().clone().requires_grad_(True)
    (GENERATOR_LOSSES[loss].loss(discriminator(fakes)) * len(fakes)).backward()
    return fakes.grad


def descend(loss: str, discriminator: nn.Module, fakes: torch.Tensor, steps: int, lr: float) -> torch.Tensor:
    """(steps + 1, N, 1): the fakes (N, 1) after 0, 1, ..., `steps` gradient steps x <- x - lr dL/dx on the
    generator loss `loss`, with D fixed."""
    path = [fakes.detach().clone()]
    with one_cpu_thread():
        for _ in range(steps):
            path.append(path[-1] - lr * sample_gradients(loss, discriminator, path[-1]))
    return torch.stack(path)


def distance_to_data(positions: torch.Tensor, real: torch.Tensor) -> float:
    """Mean over `positions` (N, d) of the distance to the nearest sample of `real` (M, d)."""
    return float(torch.cdist(positions.float(), real.float()).min(dim=1).values.mean())


def pull_towards_data(data: LineData, discriminators: dict[str, nn.Module], starts: tuple[float, ...],
                      ks: tuple[int, ...], lr: float, n_fakes: int = 256, n_real: int = 1000,
                      seed: int = 0) -> dict[tuple[str, float], list[float]]:
    """{(loss, start): [mean distance to the nearest real sample after k steps, for each k in `ks`]}.

    For each start, `n_fakes` fakes spread like the data (std `data.std`) around that position; each
    generator loss descends on them (learning rate `lr`) against its family's fixed D in `discriminators`.
    """
    samples = torch.Generator().manual_seed(seed)
    real = data.sample_real(n_real, samples)  # (M, 1)
    spread = data.std * torch.randn(n_fakes, 1, generator=samples)  # the same cloud at every start
    distances = {}
    with one_cpu_thread():
        for loss, generator_loss in GENERATOR_LOSSES.items():
            for start in starts:
                path = descend(loss, discriminators[generator_loss.family], start + spread, max(ks), lr)
                distances[loss, start] = [distance_to_data(path[k], real) for k in ks]
    return distances
