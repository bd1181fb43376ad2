"""The CycleGAN model: two generators, two discriminators and one training step (paper Section 3).

Paper notation and names here:

    G: A -> B     generator_ab      (official G_A)
    F: B -> A     generator_ba      (official G_B)
    D_Y judges B  discriminator_b   (official D_A)
    D_X judges A  discriminator_a   (official D_B)

The full objective, Eq. 3, plus the identity term of Section 5.2:

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y) + L_GAN(F, D_X) + lambda * L_cyc(G, F) [+ 0.5 lambda L_identity]

`train_step` runs it in the order of the authors' code: translate and reconstruct, freeze both
discriminators, one Adam step for both generators, unfreeze, then one Adam step for both
discriminators on (pooled) fakes made before the generator update.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable

import torch
from torch import nn

from cyclegan_edu.adversarial import vanilla_gan_loss
from cyclegan_edu.config import Config
from cyclegan_edu.cycle_consistency import cycle_loss
from cyclegan_edu.generator import ResnetGenerator, init_weights
from cyclegan_edu.history_buffer import ImagePool
from cyclegan_edu.identity_loss import identity_loss
from cyclegan_edu.lsgan import lsgan_loss
from cyclegan_edu.patchgan import build_discriminator

GanLoss = Callable[[torch.Tensor, bool], torch.Tensor]
GAN_LOSS_FUNCTIONS: dict[str, GanLoss] = {"lsgan": lsgan_loss, "vanilla": vanilla_gan_loss}
LOSS_NAMES = ("G_gan_ab", "G_gan_ba", "cycle_a", "cycle_b", "identity_a", "identity_b", "G_total",
              "D_a", "D_b")


def set_requires_grad(networks: Iterable[nn.Module], requires_grad: bool) -> None:
    """Freeze or unfreeze networks (official `set_requires_grad`)."""
    for network in networks:
        for parameter in network.parameters():
            parameter.requires_grad_(requires_grad)


class CycleGAN(nn.Module):
    """G, F, D_X, D_Y with their optimizers and history buffers.

    Args (all with the paper's defaults; see `Config` for their meaning): the objective's switches
    `gan_loss`, `adversarial`, `forward_cycle`, `backward_cycle`, `cycle_weight`, `identity_weight`,
    `pool_size`; the networks' `generator_blocks`, `generator_width`, `discriminator`,
    `discriminator_width`, `image_size` (used by the full-image discriminator); Adam's `lr`, `betas`;
    `seed` for the pools' RNGs (weights come from torch's global RNG: seed it first).
    """

    def __init__(self, *, gan_loss: str = "lsgan", adversarial: bool = True, forward_cycle: bool = True,
                 backward_cycle: bool = True, cycle_weight: float = 10.0, identity_weight: float = 0.5,
                 pool_size: int = 50, generator_blocks: int = 9, generator_width: int = 64,
                 discriminator: str = "patch70", discriminator_width: int = 64, image_size: int = 256,
                 lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), seed: int = 0) -> None:
        super().__init__()
        if gan_loss not in GAN_LOSS_FUNCTIONS:
            raise ValueError(f"gan_loss={gan_loss!r}: choose one of {', '.join(GAN_LOSS_FUNCTIONS)}.")
        self.gan_loss: GanLoss = GAN_LOSS_FUNCTIONS[gan_loss]
        self.adversarial, self.forward_cycle, self.backward_cycle = adversarial, forward_cycle, backward_cycle
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight

        self.generator_ab = init_weights(ResnetGenerator(generator_blocks, generator_width))  # G
        self.generator_ba = init_weights(ResnetGenerator(generator_blocks, generator_width))  # F
        self.discriminator_a = init_weights(build_discriminator(discriminator, discriminator_width, image_size))  # D_X
        self.discriminator_b = init_weights(build_discriminator(discriminator, discriminator_width, image_size))  # D_Y

        self.pool_fake_a = ImagePool(pool_size, seed=seed)  # one history per direction
        self.pool_fake_b = ImagePool(pool_size, seed=seed + 1)
        generator_params = itertools.chain(self.generator_ab.parameters(), self.generator_ba.parameters())
        discriminator_params = itertools.chain(self.discriminator_a.parameters(), self.discriminator_b.parameters())
        self.optimizer_g = torch.optim.Adam(generator_params, lr=lr, betas=betas)
        self.optimizer_d = torch.optim.Adam(discriminator_params, lr=lr, betas=betas)

    @classmethod
    def from_config(cls, config: Config) -> "CycleGAN":
        return cls(gan_loss=config.gan_loss, adversarial=config.adversarial, forward_cycle=config.forward_cycle,
                   backward_cycle=config.backward_cycle, cycle_weight=config.cycle_weight,
                   identity_weight=config.identity_weight, pool_size=config.pool_size,
                   generator_blocks=config.generator_blocks, generator_width=config.generator_width,
                   discriminator=config.discriminator, discriminator_width=config.discriminator_width,
                   image_size=config.crop_size, lr=config.lr, betas=(config.beta1, config.beta2), seed=config.seed)

    @property
    def discriminators(self) -> tuple[nn.Module, nn.Module]:
        return self.discriminator_a, self.discriminator_b

    def generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor, fake_b: torch.Tensor,
                         fake_a: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every term of the generators' objective that is switched on, already weighted."""
        zero = real_a.new_zeros(())
        losses = dict.fromkeys(("G_gan_ab", "G_gan_ba", "cycle_a", "cycle_b", "identity_a", "identity_b"), zero)
        if self.adversarial:  # Eq. 1 for G (D_Y) and F (D_X): make D call the fakes real
            losses["G_gan_ab"] = self.gan_loss(self.discriminator_b(fake_b), True)
            losses["G_gan_ba"] = self.gan_loss(self.discriminator_a(fake_a), True)
        if self.forward_cycle:  # Eq. 2: a -> G(a) -> F(G(a)) ~ a
            losses["cycle_a"] = self.cycle_weight * cycle_loss(real_a, self.generator_ba(fake_b))
        if self.backward_cycle:  # Eq. 2: b -> F(b) -> G(F(b)) ~ b
            losses["cycle_b"] = self.cycle_weight * cycle_loss(real_b, self.generator_ab(fake_a))
        if self.identity_weight > 0:  # Section 5.2: G(b) ~ b, F(a) ~ a, weight 0.5 * lambda
            losses["identity_b"] = self.identity_weight * self.cycle_weight * identity_loss(real_b, self.generator_ab(real_b))
            losses["identity_a"] = self.identity_weight * self.cycle_weight * identity_loss(real_a, self.generator_ba(real_a))
        return losses

    def discriminator_loss(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """0.5 * (GAN(D(real), real) + GAN(D(fake), fake)); `fake` is detached (official `backward_D_basic`)."""
        return 0.5 * (self.gan_loss(discriminator(real), True) + self.gan_loss(discriminator(fake.detach()), False))

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
        """One optimization step of all four networks on a batch (N, 3, H, W) from each domain.

        Returns every loss in LOSS_NAMES as a float; a term switched off is reported as 0.0.
        """
        fake_b = self.generator_ab(real_a)  # G(a)
        fake_a = self.generator_ba(real_b)  # F(b)

        set_requires_grad(self.discriminators, False)  # D is a fixed judge while G and F learn
        self.optimizer_g.zero_grad(set_to_none=True)
        g_losses = self.generator_losses(real_a, real_b, fake_b, fake_a)
        g_total = sum(g_losses.values())
        g_total.backward()
        self.optimizer_g.step()
        set_requires_grad(self.discriminators, True)

        d_losses = {"D_a": real_a.new_zeros(()), "D_b": real_a.new_zeros(())}
        if self.adversarial:  # D learns from fakes made before the generator update, via the pools
            self.optimizer_d.zero_grad(set_to_none=True)
            d_losses["D_b"] = self.discriminator_loss(self.discriminator_b, real_b, self.pool_fake_b.query(fake_b))
            d_losses["D_a"] = self.discriminator_loss(self.discriminator_a, real_a, self.pool_fake_a.query(fake_a))
            (d_losses["D_a"] + d_losses["D_b"]).backward()
            self.optimizer_d.step()

        losses = {**g_losses, "G_total": g_total, **d_losses}
        return {name: losses[name].detach().item() for name in LOSS_NAMES}

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """G(images) for "AtoB", F(images) for "BtoA", without gradients."""
        generator = {"AtoB": self.generator_ab, "BtoA": self.generator_ba}[direction]
        return generator(images)

    def training_state(self) -> dict[str, Any]:
        """Networks, optimizers and pools: everything of the model a resumed run needs."""
        return {"networks": self.state_dict(), "optimizer_g": self.optimizer_g.state_dict(),
                "optimizer_d": self.optimizer_d.state_dict(), "pool_fake_a": self.pool_fake_a.state_dict(),
                "pool_fake_b": self.pool_fake_b.state_dict()}

    def load_training_state(self, state: dict[str, Any]) -> None:
        device = next(self.parameters()).device
        self.load_state_dict(state["networks"])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.pool_fake_a.load_state_dict(state["pool_fake_a"], device)
        self.pool_fake_b.load_state_dict(state["pool_fake_b"], device)
