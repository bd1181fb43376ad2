"""2-D experiment for cycle consistency (notebook 03; paper Section 3.2, Eq. 2).

Domain X is the 8-Gaussian ring, domain Y the same ring rotated, so every x has a true
counterpart (mode k of X belongs with mode k of Y). Small MLPs G: X -> Y and F: Y -> X are trained
with the least-squares adversarial terms, with or without the cycle loss, and scored by how often
G(x) lands on its counterpart ("correspondence accuracy"). Any permutation of the modes is exactly
cycle consistent too (`permutation_mappings`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from cyclegan_edu.adversarial import set_requires_grad
from cyclegan_edu.course.toy2d import Mixture, ModeCoverage, mlp, mode_coverage, nearest_modes, one_cpu_thread
from cyclegan_edu.cycle_consistency import backward_cycle_loss, forward_cycle_loss
from cyclegan_edu.lsgan import lsgan_discriminator_loss, lsgan_generator_loss

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


def translation_step(run: TranslationRun, real_a: torch.Tensor, real_b: torch.Tensor, cycle_weight: float,
                     opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
    """One step of Eq. 3 in the official order: G and F against frozen D_X and D_Y, then both D on detached fakes."""
    g, f, d_x, d_y = run.generator_ab, run.generator_ba, run.discriminator_a, run.discriminator_b
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


def train_ring_translation(source: Mixture, target: Mixture, steps: int = 1000, cycle_weight: float = 10.0,
                           batch_size: int = 128, hidden: int = 64, lr: float = 1e-3,
                           betas: tuple[float, float] = (0.5, 0.999), record_every: int = 100,
                           n_eval: int = 2500, seed: int = 0) -> TranslationRun:
    """CycleGAN's objective (Eq. 3) on 2-D points: LSGAN terms for G and F, plus `cycle_weight` * Eq. 2.

    `cycle_weight=0` trains the two mappings with the adversarial terms alone. Runs on one CPU thread.
    """
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed + 1)
    run = TranslationRun(mlp(2, 2, hidden), mlp(2, 2, hidden), mlp(2, 1, hidden), mlp(2, 1, hidden))
    g, f = run.generator_ab, run.generator_ba
    opt_g = torch.optim.Adam([*g.parameters(), *f.parameters()], lr=lr, betas=betas)
    opt_d = torch.optim.Adam([*run.discriminator_a.parameters(), *run.discriminator_b.parameters()], lr=lr, betas=betas)
    eval_x, eval_modes = source.sample_with_modes(n_eval, torch.Generator().manual_seed(seed + 2))
    with one_cpu_thread():  # tiny MLPs: more threads only wait on each other
        for step in range(1, steps + 1):
            translation_step(run, source.sample(batch_size, data), target.sample(batch_size, data), cycle_weight,
                             opt_g, opt_d)
            if step % record_every == 0 or step == steps:
                with torch.no_grad():
                    translated = g(eval_x)
                    run.reconstruction_errors.append(float((f(translated) - eval_x).abs().mean()))
                run.steps.append(step)
                run.accuracies.append(correspondence_accuracy(translated, eval_modes, target))
                run.coverage.append(mode_coverage(translated, target))
    return run
