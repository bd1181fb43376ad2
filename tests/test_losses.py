"""Every loss against values computed by hand (Eq. 1, 2, LSGAN, identity)."""

import math

import pytest
import torch

from cyclegan_edu.adversarial import (
    discriminator_loss,
    minimax_generator_loss,
    non_saturating_generator_loss,
    optimal_discriminator,
    vanilla_gan_loss,
)
from cyclegan_edu.cycle_consistency import backward_cycle_loss, cycle_loss, forward_cycle_loss
from cyclegan_edu.identity_loss import identity_loss
from cyclegan_edu.lsgan import lsgan_discriminator_loss, lsgan_generator_loss, lsgan_loss


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_discriminator_loss_is_negated_log_likelihood():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5])
    expected = -(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2 - math.log(1 - sigmoid(0.5))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_minimax_and_non_saturating_generator_losses():
    fake = torch.tensor([-3.0, 1.0])
    assert minimax_generator_loss(fake).item() == pytest.approx(
        (math.log(1 - sigmoid(-3.0)) + math.log(1 - sigmoid(1.0))) / 2, rel=1e-6)
    assert non_saturating_generator_loss(fake).item() == pytest.approx(
        -(math.log(sigmoid(-3.0)) + math.log(sigmoid(1.0))) / 2, rel=1e-6)


def test_minimax_gradient_vanishes_where_non_saturating_does_not():
    """When D confidently rejects a fake (logit -8), log(1 - D) is flat; -log D is steep."""
    logit = torch.tensor([-8.0], requires_grad=True)
    minimax_grad, = torch.autograd.grad(minimax_generator_loss(logit), logit)
    non_saturating_grad, = torch.autograd.grad(non_saturating_generator_loss(logit), logit)
    assert abs(minimax_grad.item()) < 1e-3 < abs(non_saturating_grad.item())


def test_vanilla_loss_is_cross_entropy_against_ones_or_zeros():
    logits = torch.tensor([[0.0, 2.0]])
    assert vanilla_gan_loss(logits, True).item() == pytest.approx(-(math.log(0.5) + math.log(sigmoid(2.0))) / 2)
    assert vanilla_gan_loss(logits, False).item() == pytest.approx(-(math.log(0.5) + math.log(1 - sigmoid(2.0))) / 2)


def test_optimal_discriminator():
    assert optimal_discriminator(torch.tensor(3.0), torch.tensor(1.0)).item() == pytest.approx(0.75)


def test_lsgan_losses():
    scores = torch.tensor([0.5, 2.0])
    assert lsgan_loss(scores, True).item() == pytest.approx((0.25 + 1.0) / 2)
    assert lsgan_loss(scores, False).item() == pytest.approx((0.25 + 4.0) / 2)
    assert lsgan_generator_loss(scores).item() == pytest.approx(0.625)
    real, fake = torch.tensor([1.5]), torch.tensor([0.5])
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(0.5 * (0.25 + 0.25))


def test_lsgan_gradient_grows_with_distance_on_the_real_side():
    far, near = torch.tensor([5.0], requires_grad=True), torch.tensor([0.0], requires_grad=True)
    far_grad, = torch.autograd.grad(lsgan_generator_loss(far), far)
    near_grad, = torch.autograd.grad(lsgan_generator_loss(near), near)
    assert far_grad.item() == pytest.approx(8.0) and near_grad.item() == pytest.approx(-2.0)


def test_cycle_losses_are_mean_absolute_errors():
    real = torch.zeros(1, 3, 2, 2)
    assert cycle_loss(real, real + 0.5).item() == pytest.approx(0.5)
    double, half = (lambda x: 2 * x + 1), (lambda y: (y - 1) / 2)
    x = torch.randn(2, 3, 4, 4)
    assert forward_cycle_loss(x, double, half).item() == pytest.approx(0.0, abs=1e-6)
    assert backward_cycle_loss(x, double, half).item() == pytest.approx(0.0, abs=1e-6)
    assert forward_cycle_loss(x, double, lambda y: y).item() == pytest.approx((x + 1).abs().mean().item(), rel=1e-6)


def test_identity_loss():
    real = torch.tensor([[1.0, -1.0]])
    assert identity_loss(real, torch.tensor([[0.0, 0.0]])).item() == pytest.approx(1.0)
