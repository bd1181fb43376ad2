"""The 2-D toys and their mode-coverage metrics (Section 3.2; VEEGAN / PacGAN), and the toy trainers."""

import math

import torch

from cyclegan_edu.adversarial import optimal_discriminator
from cyclegan_edu.course.toy2d import (
    Mixture,
    coverage_curves,
    fit_discriminator,
    grid,
    js_divergence,
    mode_coverage,
    pairing_accuracy,
    ring,
    train_toy_gan,
)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_real_ring_samples_cover_all_8_modes():
    coverage = mode_coverage(ring().sample(2500, seeded()), ring())
    assert (coverage.modes_covered, coverage.n_modes) == (8, 8)
    assert coverage.high_quality_share > 0.98  # within 3 std: 98.9% of a 2-D Gaussian
    assert coverage.js_to_uniform < 0.01


def test_samples_on_3_modes_cover_3():
    three = Mixture(ring().means[[0, 3, 5]], ring().std)
    coverage = mode_coverage(three.sample(2500, seeded()), ring())
    assert coverage.modes_covered == 3
    assert [count > 0 for count in coverage.counts] == [True, False, False, True, False, True, False, False]


def test_real_grid_samples_cover_all_25_modes():
    assert mode_coverage(grid().sample(2500, seeded()), grid()).modes_covered == 25


def test_js_divergence_is_zero_for_an_even_spread_and_log2_for_disjoint():
    assert js_divergence(torch.full((8,), 40.0), torch.ones(8)) == 0.0
    assert math.isclose(js_divergence(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])), math.log(2), rel_tol=1e-6)


def test_far_samples_are_not_high_quality_and_cover_nothing():
    coverage = mode_coverage(torch.full((100, 2), 10.0), ring())
    assert (coverage.modes_covered, coverage.high_quality_share) == (0, 0.0)
    assert math.isclose(coverage.js_to_uniform, math.log(2))


def test_train_toy_gan_is_reproducible_with_a_seed():
    small = dict(steps=30, batch_size=32, hidden=16, record_every=10, n_eval=200)
    first, second, other = (train_toy_gan(ring(), seed=s, **small) for s in (3, 3, 4))
    assert first.steps == [10, 20, 30]
    assert first.generator_losses == second.generator_losses
    assert all(torch.equal(a, b) for a, b in zip(first.snapshots, second.snapshots))
    assert not torch.equal(first.snapshots[-1], other.snapshots[-1])
    assert list(coverage_curves(first)) == ["modes covered", "high-quality share", "JS to uniform"]
    assert all(len(curve) == 3 for curve in coverage_curves(first).values())


def test_train_toy_gan_accepts_every_loss_and_a_pool():
    for loss in ("minimax", "lsgan"):
        run = train_toy_gan(ring(), steps=4, batch_size=8, hidden=8, record_every=2, n_eval=50, pool_size=4, loss=loss)
        assert run.snapshots[-1].shape == (50, 2)


def test_pairing_accuracy_drops_when_outputs_are_permuted():
    points, modes = ring().sample_with_modes(400, seeded())
    assert pairing_accuracy(modes, points, ring()) == 1.0
    assert pairing_accuracy(modes, points[torch.randperm(400, generator=seeded(1))], ring()) < 0.3


def test_fit_discriminator_approaches_the_optimal_discriminator():
    real = lambda n, g: 1.0 + 0.5 * torch.randn(n, 1, generator=g)  # noqa: E731
    fake = lambda n, g: -1.0 + 0.5 * torch.randn(n, 1, generator=g)  # noqa: E731
    discriminator = fit_discriminator(real, fake, steps=300, batch_size=256, hidden=32)
    x = torch.linspace(-1.5, 1.5, 31).unsqueeze(1)
    density = lambda mean: torch.exp(-((x - mean) / 0.5) ** 2 / 2)  # noqa: E731  (same std: constants cancel)
    best = optimal_discriminator(density(1.0), density(-1.0))
    assert (torch.sigmoid(discriminator(x)).detach() - best).abs().max() < 0.1
