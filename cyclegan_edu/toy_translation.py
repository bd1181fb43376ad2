"""2-D experiments for cycle consistency (notebook 03) and the image history buffer (notebook 05).

Notebook 03, paper Section 3.2, Eq. 2: domain X is the 8-Gaussian ring, domain Y the same ring
rotated, so every x has a true counterpart (mode k of X belongs with mode k of Y). Small MLPs
G: X -> Y and F: Y -> X are trained with the least-squares adversarial terms, with or without the
cycle loss, and scored by how often G(x) lands on its counterpart ("correspondence accuracy").
Any permutation of the modes is exactly cycle consistent too (`permutation_mappings`).

Notebook 05, paper Section 4 ("Training details"; Shrivastava et al. 2017): a 2-D GAN whose
discriminator learns from the latest fakes or from a history of them, and measurements of how
much the generator and the discriminator move from one record to the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from cyclegan_edu.cycle_consistency import backward_cycle_loss, forward_cycle_loss
from cyclegan_edu.cyclegan import set_requires_grad
from cyclegan_edu.history_buffer import ImagePool
from cyclegan_edu.lsgan import lsgan_discriminator_loss, lsgan_generator_loss
from cyclegan_edu.mode_collapse import (GENERATOR_LOSSES, Mixture, ModeCoverage, discriminator_objective, mlp,
                                        mode_coverage, nearest_modes)

Mapping = Callable[[torch.Tensor], torch.Tensor]


def rotate(points: torch.Tensor, degrees: float) -> torch.Tensor:
    """(N, 2) points rotated counter-clockwise about the origin."""
    angle = math.radians(degrees)
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return points @ rotation.T


def rotated(mixture: Mixture, degrees: float) -> Mixture:
    """The mixture with its means rotated: mode k of the result is the counterpart of mode k."""
    return Mixture(rotate(mixture.means, degrees), mixture.std)


def permutation_mappings(source: Mixture, target: Mixture, permutation: Sequence[int]) -> tuple[Mapping, Mapping]:
    """G and F that send source mode k to target mode permutation[k] and back, offsets kept.

    G(x) = x - mu_X[k] + mu_Y[p(k)] for x nearest mode k; F(y) = y - mu_Y[j] + mu_X[p^-1(j)].
    Both are exact inverses on the modes, so F(G(x)) = x: the cycle loss is zero whatever p is.
    """
    forward = torch.as_tensor(permutation)
    if sorted(forward.tolist()) != list(range(len(source.means))):
        raise ValueError(f"permutation={list(permutation)} must reorder 0..{len(source.means) - 1}")
    backward = torch.argsort(forward)

    def a_to_b(x: torch.Tensor) -> torch.Tensor:
        k = nearest_modes(x, source.means)[0]
        return x - source.means[k] + target.means[forward[k]]

    def b_to_a(y: torch.Tensor) -> torch.Tensor:
        j = nearest_modes(y, target.means)[0]
        return y - target.means[j] + source.means[backward[j]]

    return a_to_b, b_to_a


def correspondence_accuracy(outputs: torch.Tensor, input_modes: torch.Tensor, target: Mixture,
                            quality_stds: float = 3.0) -> float:
    """Share of outputs within `quality_stds` std of the counterpart of their input's mode.

    outputs (N, 2) = G(x); input_modes (N,) the mode each x came from; the counterpart of mode k
    is target mode k.
    """
    modes, distance = nearest_modes(outputs, target.means)
    hits = (modes == input_modes) & (distance <= quality_stds * target.std)
    return float(hits.float().mean())


def mode_transitions(outputs: torch.Tensor, input_modes: torch.Tensor, target: Mixture) -> torch.Tensor:
    """(K, K) counts: row k says where the inputs of mode k landed (nearest target mode)."""
    n_modes = len(target.means)
    landed = nearest_modes(outputs, target.means)[0]
    return torch.bincount(input_modes * n_modes + landed, minlength=n_modes * n_modes).view(n_modes, n_modes)


@dataclass
class TranslationRun:
    """What `train_ring_translation` returns: G, F, D_X, D_Y and scores recorded along the way."""

    generator_ab: nn.Module  # G: X -> Y
    generator_ba: nn.Module  # F: Y -> X
    discriminator_a: nn.Module  # D_X
    discriminator_b: nn.Module  # D_Y
    steps: list[int] = field(default_factory=list)
    reconstruction_errors: list[float] = field(default_factory=list)  # mean |F(G(x)) - x| on the eval set
    accuracies: list[float] = field(default_factory=list)  # correspondence accuracy of G
    coverage: list[ModeCoverage] = field(default_factory=list)  # of G(x) on Y


def train_ring_translation(source: Mixture, target: Mixture, steps: int = 1000, cycle_weight: float = 10.0,
                           batch_size: int = 128, hidden: int = 64, lr: float = 1e-3,
                           betas: tuple[float, float] = (0.5, 0.999), record_every: int = 100,
                           n_eval: int = 2500, seed: int = 0) -> TranslationRun:
    """CycleGAN's objective (Eq. 3) on 2-D points: LSGAN terms for G and F, plus `cycle_weight` * Eq. 2.

    `cycle_weight=0` trains the two mappings with the adversarial terms alone.
    """
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed + 1)
    run = TranslationRun(mlp(2, 2, hidden), mlp(2, 2, hidden), mlp(2, 1, hidden), mlp(2, 1, hidden))
    g, f, d_x, d_y = run.generator_ab, run.generator_ba, run.discriminator_a, run.discriminator_b
    opt_g = torch.optim.Adam([*g.parameters(), *f.parameters()], lr=lr, betas=betas)
    opt_d = torch.optim.Adam([*d_x.parameters(), *d_y.parameters()], lr=lr, betas=betas)
    eval_x, eval_modes = source.sample_with_modes(n_eval, torch.Generator().manual_seed(seed + 2))
    for step in range(1, steps + 1):
        real_a, real_b = source.sample(batch_size, data), target.sample(batch_size, data)
        fake_b, fake_a = g(real_a), f(real_b)
        set_requires_grad([d_x, d_y], False)  # the official step order (cyclegan.CycleGAN.train_step)
        opt_g.zero_grad()
        g_loss = lsgan_generator_loss(d_y(fake_b)) + lsgan_generator_loss(d_x(fake_a))
        if cycle_weight > 0:  # Eq. 2, both directions
            g_loss = g_loss + cycle_weight * (forward_cycle_loss(real_a, g, f) + backward_cycle_loss(real_b, g, f))
        g_loss.backward()
        opt_g.step()
        set_requires_grad([d_x, d_y], True)
        opt_d.zero_grad()
        d_loss = (lsgan_discriminator_loss(d_y(real_b), d_y(fake_b.detach()))
                  + lsgan_discriminator_loss(d_x(real_a), d_x(fake_a.detach())))
        d_loss.backward()
        opt_d.step()
        if step % record_every == 0 or step == steps:
            with torch.no_grad():
                translated = g(eval_x)
                run.reconstruction_errors.append(float((f(translated) - eval_x).abs().mean()))
            run.steps.append(step)
            run.accuracies.append(correspondence_accuracy(translated, eval_modes, target))
            run.coverage.append(mode_coverage(translated, target))
    return run


# ---- Notebook 05: the image history buffer (Section 4; Shrivastava et al. 2017) --------------------

def pool_answer_ages(pool: ImagePool, n_queries: int) -> torch.Tensor:
    """Query `pool` with `n_queries` one-image batches; (n_queries,) age of each answer in queries.

    Image i holds the value i, so an answer holding j came from query j: age i - j, 0 for the new
    image itself, more than 0 for an image from the history.
    """
    ages = []
    for i in range(n_queries):
        returned = pool.query(torch.full((1, 1, 2, 2), float(i)))
        ages.append(i - int(returned.flatten()[0].item()))
    return torch.tensor(ages)


@dataclass
class HistoryGANRun:
    """What `train_gan_with_history` records every `record_every` steps."""

    steps: list[int] = field(default_factory=list)
    samples: list[torch.Tensor] = field(default_factory=list)  # (n_eval, 2) G(z) on fixed noise
    scores: list[torch.Tensor] = field(default_factory=list)  # (n_probes,) D's score on `probe_grid()`
    discriminator_losses: list[float] = field(default_factory=list)  # every step

    def centroids(self) -> torch.Tensor:
        """(R, 2) mean of the generated samples at each record."""
        return torch.stack([s.mean(0) for s in self.samples])

    def sample_movement(self) -> torch.Tensor:
        """(R - 1,) mean distance each generated sample moved between consecutive records."""
        samples = torch.stack(self.samples)
        return (samples[1:] - samples[:-1]).norm(dim=-1).mean(-1)

    def score_change(self) -> torch.Tensor:
        """(R - 1,) mean absolute change of D's score on the probe grid between consecutive records."""
        scores = torch.stack(self.scores)
        return (scores[1:] - scores[:-1]).abs().mean(-1)


def probe_grid(limit: float = 3.0, points_per_side: int = 21) -> torch.Tensor:
    """(points_per_side^2, 2) points on a square grid where D's score is watched."""
    axis = torch.linspace(-limit, limit, points_per_side)
    return torch.cartesian_prod(axis, axis)


def train_gan_with_history(mixture: Mixture, steps: int = 2000, pool_size: int = 0, loss: str = "non_saturating",
                           generator_lr: float = 1e-3, discriminator_lr: float = 5e-3, batch_size: int = 128,
                           hidden: int = 64, noise_dim: int = 2, record_every: int = 2, n_eval: int = 1000,
                           seed: int = 0) -> HistoryGANRun:
    """A 2-D GAN whose discriminator learns from the latest fakes (`pool_size=0`) or from a history.

    The paper trains with batch size 1 and a pool of 50 images; here one step's batch of generated
    points plays the part of one image: the pool stores whole batches, and once full it answers
    each query with a stored batch half of the time. A discriminator learning faster than the
    generator (`discriminator_lr` > `generator_lr`) makes the oscillation easy to see. D's recorded
    scores are probabilities (sigmoid of its logits) for "minimax" and "non_saturating", raw for "lsgan".
    """
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"loss={loss!r}: choose one of {', '.join(GENERATOR_LOSSES)}.")
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed + 1)
    generator, discriminator = mlp(noise_dim, 2, hidden), mlp(2, 1, hidden)
    opt_g = torch.optim.Adam(generator.parameters(), lr=generator_lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=discriminator_lr, betas=(0.5, 0.999))
    pool = ImagePool(pool_size, seed=seed)
    eval_noise = torch.randn(n_eval, noise_dim, generator=torch.Generator().manual_seed(seed + 2))
    probes = probe_grid()
    run = HistoryGANRun()
    for step in range(1, steps + 1):
        real = mixture.sample(batch_size, data)
        fake = generator(torch.randn(batch_size, noise_dim, generator=data))
        opt_d.zero_grad()
        pooled = pool.query(fake.detach().unsqueeze(0)).squeeze(0)  # (B, 2): this batch or a stored one
        d_loss = discriminator_objective(loss, discriminator(real), discriminator(pooled))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        GENERATOR_LOSSES[loss](discriminator(fake)).backward()
        opt_g.step()
        run.discriminator_losses.append(d_loss.item())
        if step % record_every == 0:
            with torch.no_grad():
                run.samples.append(generator(eval_noise))
                scores = discriminator(probes).squeeze(1)
                run.scores.append(scores if loss == "lsgan" else torch.sigmoid(scores))
            run.steps.append(step)
    return run
