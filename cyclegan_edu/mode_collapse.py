"""Mode collapse on 2-D toys (paper Section 3.2; Goodfellow 2016; VEEGAN; PacGAN).

A GAN's generator is rewarded for fooling the discriminator, not for covering the data: it can
put all its samples on a few modes and still score well. The paper's Section 3.2 names this
("all input images map to the same output image and the optimization fails to make progress")
as a reason adversarial losses alone are not enough.

Two classic mixtures make the failure measurable:
    ring  8 Gaussians on a circle of radius 2, std 0.02
    grid  25 Gaussians with means on {-4, -2, 0, 2, 4}^2, std 0.05
and the metrics of VEEGAN and PacGAN: assign each sample to its nearest mode; it is high quality
when within 3 standard deviations of it; a mode is covered when it has at least one high-quality
sample; also the share of high-quality samples and the Jensen-Shannon divergence of the
high-quality samples' mode histogram from uniform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from cyclegan_edu.adversarial import (discriminator_loss, minimax_generator_loss,
                                      non_saturating_generator_loss)
from cyclegan_edu.history_buffer import ImagePool
from cyclegan_edu.lsgan import lsgan_discriminator_loss, lsgan_generator_loss


def ring_means(n_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """(n_modes, 2) centres evenly spaced on a circle."""
    angles = torch.arange(n_modes, dtype=torch.float32) * (2 * math.pi / n_modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def grid_means(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    """(len(values)^2, 2) centres on a square grid."""
    axis = torch.tensor(values, dtype=torch.float32)
    return torch.cartesian_prod(axis, axis)


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in 2-D."""

    means: torch.Tensor  # (K, 2)
    std: float

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, 2) samples; `generator` makes them reproducible."""
        modes = torch.randint(len(self.means), (n,), generator=generator)
        return self.means[modes] + self.std * torch.randn(n, 2, generator=generator)

    def sample_with_modes(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, 2) samples and the index of the mode each came from."""
        modes = torch.randint(len(self.means), (n,), generator=generator)
        return self.means[modes] + self.std * torch.randn(n, 2, generator=generator), modes


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    return Mixture(ring_means(n_modes, radius), std)


def grid(std: float = 0.05) -> Mixture:
    return Mixture(grid_means(), std)


@dataclass
class ModeCoverage:
    """How well a set of samples covers a mixture's modes."""

    modes_covered: int
    n_modes: int
    high_quality_share: float
    js_to_uniform: float  # nats; 0 when the high-quality samples spread evenly, log 2 at worst
    counts: list[int] = field(default_factory=list)  # high-quality samples per mode


def nearest_modes(samples: torch.Tensor, means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of each sample's nearest mean and its distance to it."""
    distances = torch.cdist(samples.float(), means.float())
    nearest = distances.min(dim=1)
    return nearest.indices, nearest.values


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> float:
    """Jensen-Shannon divergence (natural log) of two discrete distributions."""
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        mask = a > 0
        return (a[mask] * (a[mask] / b[mask]).log()).sum()

    return float((kl(p, m) + kl(q, m)) / 2)


def mode_coverage(samples: torch.Tensor, mixture: Mixture, quality_stds: float = 3.0) -> ModeCoverage:
    """VEEGAN / PacGAN metrics of `samples` (N, 2) against `mixture` (2,500 samples in those papers)."""
    modes, distance = nearest_modes(samples, mixture.means)
    good = distance <= quality_stds * mixture.std
    counts = torch.bincount(modes[good], minlength=len(mixture.means)).float()
    uniform = torch.ones_like(counts)
    js = js_divergence(counts, uniform) if counts.sum() > 0 else math.log(2)
    return ModeCoverage(int((counts > 0).sum()), len(mixture.means), float(good.float().mean()), js,
                        [int(c) for c in counts])


def mlp(in_features: int = 2, out_features: int = 2, hidden: int = 128, depth: int = 3) -> nn.Sequential:
    """A plain ReLU multilayer perceptron, the networks of the 2-D toys."""
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth - 1):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


GENERATOR_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "minimax": minimax_generator_loss,
    "non_saturating": non_saturating_generator_loss,
    "lsgan": lsgan_generator_loss,
}


def discriminator_objective(loss: str, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 1 on logits for the log-likelihood losses; the least-squares loss for "lsgan"."""
    if loss == "lsgan":
        return lsgan_discriminator_loss(real_scores, fake_scores)
    return discriminator_loss(real_scores, fake_scores)


@dataclass
class ToyGANRun:
    """What `train_toy_gan` returns: the networks and what was measured along the way."""

    generator: nn.Module
    discriminator: nn.Module
    steps: list[int] = field(default_factory=list)
    coverage: list[ModeCoverage] = field(default_factory=list)
    snapshots: list[torch.Tensor] = field(default_factory=list)  # generated samples at each record
    generator_losses: list[float] = field(default_factory=list)
    discriminator_losses: list[float] = field(default_factory=list)


def train_toy_gan(mixture: Mixture, steps: int = 2000, loss: str = "non_saturating", batch_size: int = 256,
                  noise_dim: int = 2, hidden: int = 128, lr: float = 1e-3, betas: tuple[float, float] = (0.5, 0.999),
                  pool_size: int = 0, record_every: int = 250, n_eval: int = 2500, seed: int = 0) -> ToyGANRun:
    """Train a small MLP GAN on a 2-D mixture, recording mode coverage every `record_every` steps.

    `loss` is "minimax", "non_saturating" (Goodfellow's practical fix) or "lsgan" (the paper's);
    `pool_size` > 0 feeds the discriminator from an image history buffer (Section 4).
    """
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"loss={loss!r}: choose one of {', '.join(GENERATOR_LOSSES)}.")
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed + 1)
    generator, discriminator = mlp(noise_dim, 2, hidden), mlp(2, 1, hidden)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    pool = ImagePool(pool_size, seed=seed)
    eval_noise = torch.randn(n_eval, noise_dim, generator=torch.Generator().manual_seed(seed + 2))
    run = ToyGANRun(generator, discriminator)
    for step in range(1, steps + 1):
        real = mixture.sample(batch_size, data)
        fake = generator(torch.randn(batch_size, noise_dim, generator=data))
        opt_d.zero_grad()
        d_loss = discriminator_objective(loss, discriminator(real), discriminator(pool.query(fake.detach())))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = GENERATOR_LOSSES[loss](discriminator(fake))
        g_loss.backward()
        opt_g.step()
        run.generator_losses.append(g_loss.item())
        run.discriminator_losses.append(d_loss.item())
        if step % record_every == 0 or step == steps:
            with torch.no_grad():
                samples = generator(eval_noise)
            run.steps.append(step)
            run.snapshots.append(samples)
            run.coverage.append(mode_coverage(samples, mixture))
    return run
