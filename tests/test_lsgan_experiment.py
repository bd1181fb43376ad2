"""Notebook 04's experiment: fakes far on the real side of a fixed D, moved by each generator loss."""

import math

import pytest
import torch
from torch import nn

from cyclegan_edu.course import lsgan_experiment as experiment
from cyclegan_edu.course.lsgan_experiment import LineData


def linear(weight: float, bias: float) -> nn.Linear:
    """D(x) = weight * x + bias, fixed."""
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(weight)
        layer.bias.fill_(bias)
    return layer.requires_grad_(False)


@pytest.fixture(scope="module")
def fitted():
    data = LineData()
    return data, {family: experiment.fit_discriminator(data, family, steps=300) for family in experiment.FAMILIES}


def test_line_data_samples_around_their_means():
    data, generator = LineData(real_mean=3.0, fake_mean=-1.0, std=0.1), torch.Generator().manual_seed(0)
    real, fake = data.sample_real(4000, generator), data.sample_fake(4000, generator)
    assert real.shape == fake.shape == (4000, 1)
    assert abs(float(real.mean()) - 3.0) < 0.01 and abs(float(fake.mean()) + 1.0) < 0.01
    assert abs(float(real.std()) - 0.1) < 0.01


def test_fitted_discriminators_put_their_boundary_between_fakes_and_data(fitted):
    data, discriminators = fitted
    for family, discriminator in discriminators.items():
        boundary = experiment.decision_boundary(discriminator, family, data.fake_mean, data.real_mean)
        assert abs(boundary - (data.real_mean + data.fake_mean) / 2) < 0.3, (family, boundary)
        assert all(not p.requires_grad for p in discriminator.parameters()), "D is fixed after fitting"
    with torch.no_grad():  # least squares regresses to the targets: about 1 on the data, 0 on the fakes
        scores = discriminators["least_squares"](torch.tensor([[data.fake_mean], [data.real_mean]])).flatten()
    assert abs(float(scores[0])) < 0.1 and abs(float(scores[1]) - 1) < 0.1


def test_crossing_interpolates_where_the_output_crosses():
    discriminator = linear(2.0, -1.0)  # 0 at x = 0.5, 1 at x = 1
    assert experiment.crossing(discriminator, 0.0, -3, 3) == pytest.approx(0.5, abs=1e-4)
    assert experiment.decision_boundary(discriminator, "least_squares", -3, 3) == pytest.approx(0.75, abs=1e-4)
    with pytest.raises(ValueError, match="does not cross"):
        experiment.crossing(discriminator, 0.0, 2, 3)


def test_says_real_compares_with_the_family_boundary():
    discriminator = linear(1.0, 0.0)
    positions = torch.tensor([[-1.0], [0.25], [0.75]])
    assert experiment.says_real(discriminator, "cross_entropy", positions).tolist() == [False, True, True]
    assert experiment.says_real(discriminator, "least_squares", positions).tolist() == [False, False, True]


@pytest.mark.parametrize("n", [1, 5])
def test_sample_gradients_are_the_per_sample_chain_rule(n):
    weight, bias = 1.5, -0.5
    discriminator = linear(weight, bias)
    positions = torch.linspace(-2, 4, n).unsqueeze(1)
    logits = weight * positions + bias
    expected = {"minimax": -torch.sigmoid(logits) * weight,  # d/dx log(1 - sigmoid(s))
                "non_saturating": -torch.sigmoid(-logits) * weight,  # d/dx -log sigmoid(s)
                "least_squares": 2 * (logits - 1) * weight}  # d/dx (s - 1)^2
    for loss, gradient in expected.items():
        assert torch.allclose(experiment.sample_gradients(loss, discriminator, positions), gradient, atol=1e-6), loss


def test_descend_takes_plain_gradient_steps():
    discriminator = linear(0.5, 0.0)  # least squares: (x / 2 - 1)^2, minimum at x = 2
    path = experiment.descend("least_squares", discriminator, torch.tensor([[10.0]]), steps=3, lr=1.0)
    assert path.shape == (4, 1, 1)
    expected, x = [10.0], 10.0
    for _ in range(3):
        x -= 1.0 * 2 * (0.5 * x - 1) * 0.5
        expected.append(x)
    assert path.flatten().tolist() == pytest.approx(expected)


def test_distance_to_data_is_the_mean_distance_to_the_nearest_real_sample():
    real = torch.tensor([[0.0], [10.0]])
    assert experiment.distance_to_data(torch.tensor([[1.0], [7.0], [10.0]]), real) == pytest.approx((1 + 3 + 0) / 3)
    assert experiment.distance_to_data(torch.tensor([[3.0, 4.0]]), torch.zeros(1, 2)) == pytest.approx(5.0)


def test_far_on_the_real_side_only_least_squares_pulls_fakes_back(fitted):
    data, discriminators = fitted
    start = data.real_mean + 6.0
    for family, discriminator in discriminators.items():
        assert experiment.says_real(discriminator, family, torch.tensor([[start]])).all(), family
    distances = experiment.pull_towards_data(data, discriminators, (start,), ks=(0, 30), lr=1.0, n_fakes=64)
    before = distances["least_squares", start][0]
    assert before > 3
    assert distances["least_squares", start][1] < 0.1 * before
    assert distances["non_saturating", start][1] >= 0.99 * before, "a saturated sigmoid barely moves them"
    assert distances["minimax", start][1] > before, "Eq. 1's generator term pushes towards larger logits: away"
    gradients = {loss: float(experiment.sample_gradients(loss, discriminators[g.family], torch.tensor([[start]])).abs())
                 for loss, g in experiment.GENERATOR_LOSSES.items()}
    assert gradients["non_saturating"] < 1e-3 < 0.1 < gradients["least_squares"]
    assert math.isfinite(gradients["minimax"])
