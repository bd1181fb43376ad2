"""2-D experiment for the image history buffer (notebook 05; paper Section 4, "Training details";
Shrivastava et al. 2017).

A 2-D GAN whose discriminator learns from the latest fakes or from a history of them, and
measurements of its oscillation: its size (how far G's samples and D's verdict on them swing over a
window) and its speed (how much they move from one record to the next).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from cyclegan_edu.course.toy2d import GENERATOR_LOSSES, Mixture, discriminator_objective, mlp, one_cpu_thread
from cyclegan_edu.history_buffer import ImagePool


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
    fake_scores: list[float] = field(default_factory=list)  # D's mean score on G's current samples
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

    def centroid_swing(self, last: int) -> float:
        """Amplitude of G's oscillation: RMS distance of its samples' centre from that centre's mean
        over the last `last` records."""
        centres = self.centroids()[-last:]
        return float((centres - centres.mean(0)).norm(dim=1).pow(2).mean().sqrt())

    def fake_score_swing(self, last: int) -> float:
        """Amplitude of D's oscillation: standard deviation of its mean score on G's current samples
        over the last `last` records."""
        return float(torch.tensor(self.fake_scores[-last:]).std())


def probe_grid(limit: float = 3.0, points_per_side: int = 21) -> torch.Tensor:
    """(points_per_side^2, 2) points on a square grid where D's score is watched."""
    axis = torch.linspace(-limit, limit, points_per_side)
    return torch.cartesian_prod(axis, axis)


@torch.no_grad()
def record(run: HistoryGANRun, step: int, generator: nn.Module, discriminator: nn.Module, eval_noise: torch.Tensor,
           probes: torch.Tensor, loss: str) -> None:
    """Append G's samples on the fixed noise, D's scores on the probe grid and D's mean score on those samples."""
    samples = generator(eval_noise)
    scores = discriminator(torch.cat([probes, samples])).squeeze(1)
    scores = scores if loss == "lsgan" else torch.sigmoid(scores)
    run.steps.append(step)
    run.samples.append(samples)
    run.scores.append(scores[:len(probes)])
    run.fake_scores.append(float(scores[len(probes):].mean()))


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
    with one_cpu_thread():  # tiny MLPs: more threads only wait on each other
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
                record(run, step, generator, discriminator, eval_noise, probes, loss)
    return run
