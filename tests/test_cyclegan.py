"""One training step against an independent re-derivation of the objective (minGPT-style)."""

import copy
import itertools

import pytest
import torch
import torch.nn.functional as F

from cyclegan_edu.cyclegan import LOSS_NAMES, CycleGAN
from cyclegan_edu.patchgan import DISCRIMINATOR_KINDS

SMALL = dict(generator_blocks=1, generator_width=4, discriminator_width=4, image_size=32)


def small_model(**switches) -> CycleGAN:
    torch.manual_seed(0)
    return CycleGAN(**{**SMALL, **switches})


def batches(steps: int, n: int = 1, size: int = 32):
    generator = torch.Generator().manual_seed(1)
    return [(torch.rand(n, 3, size, size, generator=generator) * 2 - 1,
             torch.rand(n, 3, size, size, generator=generator) * 2 - 1) for _ in range(steps)]


def reference_steps(model: CycleGAN, data) -> dict[str, torch.nn.Module]:
    """Eq. 3 plus the identity term, written out from the paper with LSGAN and lambda = 10, and
    the discriminators' halved least-squares loss; the pool is still filling, so it returns its input.

    The generators run, and the terms are summed, in the order of the authors' code: the conv biases
    in front of instance norm have a true gradient of zero, so their gradient is rounding noise, which
    Adam scales up to full steps; another order of float additions gives other noise."""
    G, F_, D_X, D_Y = (copy.deepcopy(m) for m in (model.generator_ab, model.generator_ba,
                                                   model.discriminator_a, model.discriminator_b))
    opt_g = torch.optim.Adam(itertools.chain(G.parameters(), F_.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(itertools.chain(D_X.parameters(), D_Y.parameters()), lr=2e-4, betas=(0.5, 0.999))
    generator_params = list(G.parameters()) + list(F_.parameters())
    for a, b in data:
        fake_b = G(a)
        reconstructed_a = F_(fake_b)
        fake_a = F_(b)
        reconstructed_b = G(fake_a)
        identity_b, identity_a = G(b), F_(a)
        identity = 0.5 * 10 * (identity_b - b).abs().mean() + 0.5 * 10 * (identity_a - a).abs().mean()
        loss_g = ((D_Y(fake_b) - 1) ** 2).mean() + ((D_X(fake_a) - 1) ** 2).mean() \
            + 10 * (reconstructed_a - a).abs().mean() + 10 * (reconstructed_b - b).abs().mean() + identity
        grads = torch.autograd.grad(loss_g, generator_params)  # only G and F learn here
        opt_g.zero_grad()
        for parameter, grad in zip(generator_params, grads):
            parameter.grad = grad
        opt_g.step()
        opt_d.zero_grad()
        loss_d_y = 0.5 * (((D_Y(b) - 1) ** 2).mean() + (D_Y(fake_b.detach()) ** 2).mean())
        loss_d_x = 0.5 * (((D_X(a) - 1) ** 2).mean() + (D_X(fake_a.detach()) ** 2).mean())
        (loss_d_x + loss_d_y).backward()
        opt_d.step()
    return {"generator_ab": G, "generator_ba": F_, "discriminator_a": D_X, "discriminator_b": D_Y}


def test_train_step_matches_the_objective_written_from_the_paper():
    model, data = small_model(), batches(3)
    expected = reference_steps(model, data)
    for a, b in data:
        losses = model.train_step(a, b)
    for name, reference in expected.items():
        for ours, theirs in zip(getattr(model, name).parameters(), reference.parameters()):
            torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert set(losses) == set(LOSS_NAMES)


def test_total_generator_loss_is_the_sum_of_its_terms():
    losses = small_model().train_step(*batches(1)[0])
    terms = ("G_gan_ab", "G_gan_ba", "cycle_a", "cycle_b", "identity_a", "identity_b")
    assert losses["G_total"] == pytest.approx(sum(losses[t] for t in terms), rel=1e-5)


def test_discriminators_are_frozen_for_the_generator_update_and_see_pre_update_fakes():
    model = small_model()
    real_a, real_b = batches(1)[0]
    generator_before = copy.deepcopy(model.generator_ab)
    calls = []
    model.discriminator_b.register_forward_pre_hook(
        lambda module, inputs: calls.append((next(module.parameters()).requires_grad, inputs[0].detach().clone())))
    model.train_step(real_a, real_b)
    frozen_flags = [flag for flag, _ in calls]
    assert frozen_flags == [False, True, True]  # G's adversarial term, then D's real and fake
    with torch.no_grad():
        pre_update, post_update = generator_before(real_a), model.generator_ab(real_a)
    torch.testing.assert_close(calls[2][1], pre_update)
    assert not torch.allclose(calls[2][1], post_update)


def test_cycle_alone_never_trains_the_discriminators():
    model = small_model(adversarial=False)
    before = copy.deepcopy(model.discriminator_a.state_dict())
    losses = model.train_step(*batches(1)[0])
    assert losses["D_a"] == losses["D_b"] == losses["G_gan_ab"] == 0.0
    for key, value in model.discriminator_a.state_dict().items():
        assert torch.equal(value, before[key])


@pytest.mark.parametrize("switch, silent", [
    (dict(forward_cycle=False), ["cycle_a"]),
    (dict(backward_cycle=False), ["cycle_b"]),
    (dict(identity_weight=0.0), ["identity_a", "identity_b"]),
])
def test_switched_off_terms_are_zero_and_the_rest_are_not(switch, silent):
    losses = small_model(**switch).train_step(*batches(1)[0])
    for name in ("G_gan_ab", "G_gan_ba", "cycle_a", "cycle_b", "identity_a", "identity_b"):
        assert (losses[name] == 0.0) == (name in silent), name


def test_cycle_weight_scales_the_cycle_terms():
    data = batches(1)[0]
    assert small_model(cycle_weight=20.0).train_step(*data)["cycle_a"] == pytest.approx(
        2 * small_model(cycle_weight=10.0).train_step(*data)["cycle_a"], rel=1e-5)


def test_vanilla_gan_loss_is_cross_entropy_on_the_patch_map():
    model = small_model(gan_loss="vanilla")
    real_a, real_b = batches(1)[0]
    with torch.no_grad():
        scores = model.discriminator_b(model.generator_ab(real_a))
    expected = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores)).item()
    assert model.train_step(real_a, real_b)["G_gan_ab"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", DISCRIMINATOR_KINDS)
def test_every_discriminator_kind_trains(kind):
    losses = small_model(discriminator=kind).train_step(*batches(1, n=2)[0])
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())


def test_unknown_gan_loss_is_refused():
    with pytest.raises(ValueError, match="lsgan"):
        CycleGAN(gan_loss="wgan", **SMALL)
