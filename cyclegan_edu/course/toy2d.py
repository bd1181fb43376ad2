"""The 2-D toolkit of notebooks 01 to 05: mode collapse on toy mixtures (paper Section 3.2; VEEGAN; PacGAN).

A GAN's generator is rewarded for fooling the discriminator, not for covering the data: it can
put all its samples on a few modes and still score well. The paper names this mode collapse
("all input images map to the same output image and the optimization fails to make progress",
Section 1) and, in Section 3.2, the wider problem that any permutation of the outputs matches the
target distribution equally well: reasons adversarial losses alone are not enough.

Two classic mixtures make the failure measurable:
    ring  8 Gaussians on a circle of radius 2, std 0.02
    grid  25 Gaussians with means on {-4, -2, 0, 2, 4}^2, std 0.05
and the metrics of VEEGAN and PacGAN: assign each sample to its nearest mode; it is high quality
when within 3 standard deviations of it; a mode is covered when it has at least one high-quality
sample; also the share of high-quality samples and the Jensen-Shannon divergence of the
high-quality samples' mode histogram from uniform.

Also here, for the notebooks' other toy experiments: `fit_discriminator` trains D alone against a
frozen generator (notebook 01: the optimal discriminator of Goodfellow et al. 2014), and
`pairing_accuracy` scores whether outputs belong to their inputs (notebook 02: any permutation of
the outputs fools D equally, Section 3.2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from cyclegan_edu.adversarial import discriminator_loss, minimax_generator_loss, non_saturating_generator_loss
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


@contextmanager
def one_cpu_thread() -> Iterator[None]:
    """Run the block on one CPU thread, then restore the thread count.

    The toys' networks are too small to gain from more threads, and on a busy machine extra
    threads only wait on each other (10x slower on a loaded 2-core CPU). One thread also makes the
    results the same whatever the machine's core count.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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


def train_toy_gan_step(run: ToyGANRun, mixture: Mixture, loss: str, batch_size: int, noise_dim: int,
                       data: torch.Generator, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                       pool: ImagePool) -> None:
    """One step of Eq. 1: a D update on real and (pooled) fake samples, then a G update; losses logged."""
    generator, discriminator = run.generator, run.discriminator
    real = mixture.sample(batch_size, data)  # (B, 2)
    fake = generator(torch.randn(batch_size, noise_dim, generator=data))  # (B, 2)
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


def train_toy_gan(mixture: Mixture, steps: int = 2000, loss: str = "non_saturating", batch_size: int = 256,
                  noise_dim: int = 16, hidden: int = 128, lr: float = 5e-4, betas: tuple[float, float] = (0.5, 0.999),
                  pool_size: int = 0, record_every: int = 250, n_eval: int = 2500, seed: int = 0,
                  discriminator_lr: float | None = 2e-3, depth: int = 3) -> ToyGANRun:
    """Train a small MLP GAN on a 2-D mixture, recording mode coverage every `record_every` steps.

    `loss` is "minimax", "non_saturating" (Goodfellow's practical fix) or "lsgan" (the paper's);
    `pool_size` > 0 feeds the discriminator from an image history buffer (Section 4).
    G and D are ReLU MLPs of `depth` layers, `hidden` units wide; G maps `noise_dim`-dimensional
    Gaussian noise to the plane. D learns at `discriminator_lr` (None: `lr`), by default 4x faster
    than G, which makes it sharp: with these defaults a plain GAN reliably drops modes, as in
    VEEGAN's and PacGAN's tables. Measured with the non-saturating loss: on the ring, after 2,000
    steps, 1 to 4 of 8 modes covered (seeds 0 to 10; 2 for most), 39% to 91% of the samples high
    quality; on the grid, after 3,000 steps, 14 to 18 of 25 (seeds 0 to 5), the 9 inner modes
    (nearly) empty. About 20 s per 1,000 steps on a busy 2-core CPU. Everything is seeded by `seed`.
    """
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"loss={loss!r}: choose one of {', '.join(GENERATOR_LOSSES)}.")
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed + 1)
    generator, discriminator = mlp(noise_dim, 2, hidden, depth), mlp(2, 1, hidden, depth)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=discriminator_lr or lr, betas=betas)
    pool = ImagePool(pool_size, seed=seed)
    eval_noise = torch.randn(n_eval, noise_dim, generator=torch.Generator().manual_seed(seed + 2))
    run = ToyGANRun(generator, discriminator)
    with one_cpu_thread():
        for step in range(1, steps + 1):
            train_toy_gan_step(run, mixture, loss, batch_size, noise_dim, data, opt_g, opt_d, pool)
            if step % record_every == 0 or step == steps:
                with torch.no_grad():
                    samples = generator(eval_noise)
                run.steps.append(step)
                run.snapshots.append(samples)
                run.coverage.append(mode_coverage(samples, mixture))
    return run


def coverage_curves(run: ToyGANRun) -> dict[str, list[float]]:
    """The run's recorded metrics as lists, one per metric, ready to plot against `run.steps`."""
    return {"modes covered": [float(c.modes_covered) for c in run.coverage],
            "high-quality share": [c.high_quality_share for c in run.coverage],
            "JS to uniform": [c.js_to_uniform for c in run.coverage]}


def pairing_accuracy(input_modes: torch.Tensor, outputs: torch.Tensor, mixture: Mixture) -> float:
    """Share of outputs (N, 2) whose nearest mode of `mixture` is the mode its input asked for (N,)."""
    return float((nearest_modes(outputs, mixture.means)[0] == input_modes).float().mean())


Sampler = Callable[[int, torch.Generator], torch.Tensor]


def fit_discriminator(sample_real: Sampler, sample_fake: Sampler, in_features: int = 1, steps: int = 2000,
                      batch_size: int = 512, hidden: int = 64, depth: int = 3, lr: float = 1e-3,
                      seed: int = 0) -> nn.Sequential:
    """Train only D, on two fixed distributions, by minimizing the negated Eq. 1 (`discriminator_loss`).

    `sample_real(n, generator)` and `sample_fake(n, generator)` return (n, in_features) samples. With
    G frozen, the best D is D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014,
    Proposition 1); sigmoid of the returned network's logits estimates it where there is data.
    """
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed + 1)
    discriminator = mlp(in_features, 1, hidden, depth)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    with one_cpu_thread():
        for _ in range(steps):
            real, fake = sample_real(batch_size, data), sample_fake(batch_size, data)  # (B, in_features)
            optimizer.zero_grad()
            discriminator_loss(discriminator(real), discriminator(fake)).backward()
            optimizer.step()
    return discriminator
