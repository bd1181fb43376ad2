"""Bit for bit the authors' code: the same seed gives the same initial weights, the same weights and
batches give the same weights after several plain steps, identity loss on.

The reference below re-derives, from reading the official pytorch-CycleGAN-and-pix2pix
(`cycle_gan_model.py`: `__init__`, `forward`, `backward_G`, `backward_D_basic`, `optimize_parameters`;
`networks.py`: `init_weights`, `GANLoss`), the order in which it builds the networks and runs one
step. Float addition is not associative, and Adam turns the rounding noise in the gradients of the
conv biases in front of instance norm (whose true gradient is zero) into full steps, so any other
order of the generator calls or of the sum drifts away within a few steps.
"""

import copy
import itertools

import torch
import torch.nn.functional as F
from torch import nn

from cyclegan_edu.adversarial import set_requires_grad
from cyclegan_edu.cyclegan import CycleGAN
from cyclegan_edu.generator import ResnetGenerator
from cyclegan_edu.patchgan import PatchDiscriminator

SMALL = dict(generator_blocks=2, generator_width=8, discriminator_width=8, image_size=32)
LAMBDA_A = LAMBDA_B = 10.0
LAMBDA_IDENTITY = 0.5


def authors_init(network: nn.Module) -> nn.Module:
    """`init_weights(net, "normal", 0.02)`: `net.apply` over every Conv and Linear layer."""
    def init(module: nn.Module) -> None:
        name = module.__class__.__name__
        if hasattr(module, "weight") and ("Conv" in name or "Linear" in name):
            nn.init.normal_(module.weight.data, 0.0, 0.02)
            if module.bias is not None:
                nn.init.constant_(module.bias.data, 0.0)
    network.apply(init)
    return network


def authors_networks(seed: int) -> dict[str, nn.Module]:
    """netG_A, netG_B, netD_A, netD_B, built in this order from `seed`."""
    torch.manual_seed(seed)
    return {"G_A": authors_init(ResnetGenerator(SMALL["generator_blocks"], SMALL["generator_width"])),
            "G_B": authors_init(ResnetGenerator(SMALL["generator_blocks"], SMALL["generator_width"])),
            "D_A": authors_init(PatchDiscriminator(3, SMALL["discriminator_width"])),
            "D_B": authors_init(PatchDiscriminator(3, SMALL["discriminator_width"]))}


def gan_loss(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """`GANLoss("lsgan")`: MSE against a label tensor expanded to the prediction's shape."""
    return F.mse_loss(prediction, torch.tensor(1.0 if target_is_real else 0.0).expand_as(prediction))


def authors_steps(nets: dict[str, nn.Module], batches) -> None:
    """`optimize_parameters` once per batch; the pools are still filling, so they return their input."""
    G_A, G_B, D_A, D_B = nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"]
    optimizer_G = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    for real_A, real_B in batches:
        fake_B = G_A(real_A)  # forward()
        rec_A = G_B(fake_B)
        fake_A = G_B(real_B)
        rec_B = G_A(fake_A)
        set_requires_grad([D_A, D_B], False)
        optimizer_G.zero_grad()
        idt_A = G_A(real_B)  # backward_G()
        loss_idt_A = F.l1_loss(idt_A, real_B) * LAMBDA_B * LAMBDA_IDENTITY
        idt_B = G_B(real_A)
        loss_idt_B = F.l1_loss(idt_B, real_A) * LAMBDA_A * LAMBDA_IDENTITY
        loss_G_A = gan_loss(D_A(fake_B), True)
        loss_G_B = gan_loss(D_B(fake_A), True)
        loss_cycle_A = F.l1_loss(rec_A, real_A) * LAMBDA_A
        loss_cycle_B = F.l1_loss(rec_B, real_B) * LAMBDA_B
        loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
        loss_G.backward()
        optimizer_G.step()
        set_requires_grad([D_A, D_B], True)
        optimizer_D.zero_grad()
        for D, real, fake in ((D_A, real_B, fake_B), (D_B, real_A, fake_A)):  # backward_D_A, then backward_D_B
            loss_D = (gan_loss(D(real), True) + gan_loss(D(fake.detach()), False)) * 0.5
            loss_D.backward()
        optimizer_D.step()


def ours_as_theirs(model: CycleGAN) -> dict[str, nn.Module]:
    return {"G_A": model.generator_ab, "G_B": model.generator_ba, "D_A": model.discriminator_b,
            "D_B": model.discriminator_a}


def assert_bitwise_equal(ours: dict[str, nn.Module], theirs: dict[str, nn.Module]) -> None:
    for name, network in theirs.items():
        for (key, mine), their in zip(ours[name].state_dict().items(), network.state_dict().values()):
            assert torch.equal(mine, their), f"{name}.{key} differs by {(mine - their).abs().max().item():.3g}"


def test_the_same_seed_builds_the_authors_initial_weights():
    torch.manual_seed(7)
    assert_bitwise_equal(ours_as_theirs(CycleGAN(**SMALL)), authors_networks(7))


def test_five_plain_steps_with_identity_loss_give_the_authors_weights_bit_for_bit():
    torch.manual_seed(0)
    model = CycleGAN(**SMALL)
    reference = copy.deepcopy(ours_as_theirs(model))
    generator = torch.Generator().manual_seed(1)
    batches = [tuple(torch.rand(1, 3, 32, 32, generator=generator) * 2 - 1 for _ in range(2)) for _ in range(5)]
    authors_steps(reference, batches)
    for real_a, real_b in batches:
        model.train_step(real_a, real_b)
    assert_bitwise_equal(ours_as_theirs(model), reference)
