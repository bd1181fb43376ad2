"""The CycleGAN model: two generators, two discriminators and one training step (paper Section 3).

Paper notation and names here:

    G: A -> B     generator_ab      (official G_A)
    F: B -> A     generator_ba      (official G_B)
    D_Y judges B  discriminator_b   (official D_A)
    D_X judges A  discriminator_a   (official D_B)

The full objective, Eq. 3, plus the identity term of Section 5.2:

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y) + L_GAN(F, D_X) + lambda * L_cyc(G, F) [+ 0.5 lambda L_identity]

A step has two parts, kept apart so the fast step (fast.py) can change how the first is computed
and nothing else: `generator_passes` (the translations, reconstructions and identity images) and
the objective (`generator_objective`, Eq. 3 written once; `discriminator_objective`, D's halved
loss). `train_step` runs them in the order of the authors' code: translate and reconstruct, freeze
both discriminators, one Adam step for both generators, unfreeze, then one Adam step for both
discriminators on (pooled) fakes made before the generator update. With the networks built in the
authors' order too, a step from the same weights and batches gives their weights bit for bit.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cyclegan_edu.adversarial import set_requires_grad, vanilla_gan_loss
from cyclegan_edu.cycle_consistency import cycle_loss
from cyclegan_edu.generator import ResnetGenerator, init_weights
from cyclegan_edu.history_buffer import ImagePool
from cyclegan_edu.identity_loss import identity_loss
from cyclegan_edu.lsgan import GanLoss, halved_discriminator_loss, lsgan_loss
from cyclegan_edu.patchgan import build_discriminator

GAN_LOSS_FUNCTIONS: dict[str, GanLoss] = {"lsgan": lsgan_loss, "vanilla": vanilla_gan_loss}
GENERATOR_TERMS = ("G_gan_ab", "G_gan_ba", "cycle_a", "cycle_b", "identity_a", "identity_b")
LOSS_NAMES = (*GENERATOR_TERMS, "G_total", "D_a", "D_b")


@dataclass
class GeneratorPasses:
    """The generator calls of one step, (N, 3, H, W) each; None where a switch leaves a pass out."""

    fake_b: torch.Tensor                    # G(a)
    reconstructed_a: torch.Tensor | None    # F(G(a)), the forward cycle (Eq. 2)
    fake_a: torch.Tensor                    # F(b)
    reconstructed_b: torch.Tensor | None    # G(F(b)), the backward cycle (Eq. 2)
    identity_b: torch.Tensor | None         # G(b), Section 5.2
    identity_a: torch.Tensor | None         # F(a)


class CycleGAN(nn.Module):
    """G, F, D_X, D_Y with their optimizers and history buffers.

    Args (all with the paper's defaults; see `Config` for their meaning; `fast.build_model` makes one
    from a Config): the objective's switches
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

        # Built in the authors' order (G_A, G_B, D_A, D_B), so a seed gives their initial weights.
        self.generator_ab = init_weights(ResnetGenerator(generator_blocks, generator_width))  # G
        self.generator_ba = init_weights(ResnetGenerator(generator_blocks, generator_width))  # F
        self.discriminator_b = init_weights(build_discriminator(discriminator, discriminator_width, image_size))  # D_Y
        self.discriminator_a = init_weights(build_discriminator(discriminator, discriminator_width, image_size))  # D_X

        self.pool_fake_a = ImagePool(pool_size, seed=seed)  # one history per direction
        self.pool_fake_b = ImagePool(pool_size, seed=seed + 1)
        generator_params = itertools.chain(self.generator_ab.parameters(), self.generator_ba.parameters())
        # Adam updates each tensor on its own, so this order (unlike the build order) does not change a weight.
        discriminator_params = itertools.chain(self.discriminator_a.parameters(), self.discriminator_b.parameters())
        self.optimizer_g = torch.optim.Adam(generator_params, lr=lr, betas=betas)
        self.optimizer_d = torch.optim.Adam(discriminator_params, lr=lr, betas=betas)
        # Set by data-parallel training (distributed.py) to average gradients over its processes.
        self.gradient_averaging: Callable[[list[torch.Tensor]], None] | None = None

    @property
    def discriminators(self) -> tuple[nn.Module, nn.Module]:
        return self.discriminator_a, self.discriminator_b

    # ---- the passes -------------------------------------------------------------------------------
    def generator_passes(self, real_a: torch.Tensor, real_b: torch.Tensor) -> GeneratorPasses:
        """Every generator call the objective needs, in the authors' order (official `forward`, then
        the identity passes of `backward_G`): G(a), F(G(a)), F(b), G(F(b)), G(b), F(a)."""
        fake_b = self.generator_ab(real_a)
        reconstructed_a = self.generator_ba(fake_b) if self.forward_cycle else None
        fake_a = self.generator_ba(real_b)
        reconstructed_b = self.generator_ab(fake_a) if self.backward_cycle else None
        with_identity = self.identity_weight > 0
        identity_b = self.generator_ab(real_b) if with_identity else None
        identity_a = self.generator_ba(real_a) if with_identity else None
        return GeneratorPasses(fake_b, reconstructed_a, fake_a, reconstructed_b, identity_b, identity_a)

    def score_real_and_fake(self, discriminator: nn.Module, real: torch.Tensor,
                            fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D(real) and D(fake), fake detached: D's update must not reach the generators."""
        return discriminator(real), discriminator(fake.detach())

    # ---- the objective ------------------------------------------------------------------------------
    def generator_objective(self, real_a: torch.Tensor, real_b: torch.Tensor,
                            passes: GeneratorPasses) -> dict[str, torch.Tensor]:
        """Eq. 3 plus the identity term: every term of GENERATOR_TERMS, weighted, and their sum "G_total".

        A term that is switched off is zero. The terms are computed and summed in the order of the
        authors' `backward_G` (float addition is not associative).
        """
        losses = dict.fromkeys(GENERATOR_TERMS, real_a.new_zeros((), dtype=torch.float32))
        if self.identity_weight > 0:  # Section 5.2: G(b) ~ b, F(a) ~ a, weight 0.5 * lambda
            losses["identity_b"] = identity_loss(real_b, passes.identity_b) * self.cycle_weight * self.identity_weight
            losses["identity_a"] = identity_loss(real_a, passes.identity_a) * self.cycle_weight * self.identity_weight
        if self.adversarial:  # Eq. 1 for G (judged by D_Y) and F (judged by D_X): make D call the fakes real
            losses["G_gan_ab"] = self.gan_loss(self.discriminator_b(passes.fake_b), True)
            losses["G_gan_ba"] = self.gan_loss(self.discriminator_a(passes.fake_a), True)
        if self.forward_cycle:  # Eq. 2: a -> G(a) -> F(G(a)) ~ a
            losses["cycle_a"] = cycle_loss(real_a, passes.reconstructed_a) * self.cycle_weight
        if self.backward_cycle:  # Eq. 2: b -> F(b) -> G(F(b)) ~ b
            losses["cycle_b"] = cycle_loss(real_b, passes.reconstructed_b) * self.cycle_weight
        losses["G_total"] = (losses["G_gan_ab"] + losses["G_gan_ba"] + losses["cycle_a"] + losses["cycle_b"]
                             + losses["identity_b"] + losses["identity_a"])
        return losses

    def discriminator_objective(self, discriminator: nn.Module, real: torch.Tensor,
                                fake: torch.Tensor) -> torch.Tensor:
        """D's halved GAN loss on a real batch and a (pooled) fake batch (official `backward_D_basic`)."""
        return halved_discriminator_loss(self.gan_loss, *self.score_real_and_fake(discriminator, real, fake))

    # ---- one step -------------------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager:
        """The context the passes and losses run in: full precision here (fast.py: bf16 or fp16)."""
        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()  # fast.py scales it for fp16

    def average_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """Under data-parallel training, each of `optimizer`'s gradients becomes its mean over the
        processes (`gradient_averaging`); in one process, nothing."""
        if self.gradient_averaging is not None:
            self.gradient_averaging([parameter for group in optimizer.param_groups for parameter in group["params"]])

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        self.average_gradients(optimizer)
        optimizer.step()

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
        """One optimization step of all four networks on a batch (N, 3, H, W) from each domain.

        Returns every loss in LOSS_NAMES as a float; a term switched off is reported as 0.0.
        """
        with self.autocast():
            passes = self.generator_passes(real_a, real_b)
            set_requires_grad(self.discriminators, False)  # D is a fixed judge while G and F learn
            losses = self.generator_objective(real_a, real_b, passes)
        self.optimizer_g.zero_grad(set_to_none=True)
        self.backward(losses["G_total"])
        self.step(self.optimizer_g)
        set_requires_grad(self.discriminators, True)

        losses["D_a"] = losses["D_b"] = real_a.new_zeros((), dtype=torch.float32)
        if self.adversarial:  # D learns from fakes made before the generator update, via the pools
            self.optimizer_d.zero_grad(set_to_none=True)
            for name, discriminator, real, fake, pool in (
                    ("D_b", self.discriminator_b, real_b, passes.fake_b, self.pool_fake_b),  # D_Y first, as D_A
                    ("D_a", self.discriminator_a, real_a, passes.fake_a, self.pool_fake_a)):
                pooled = pool.query(fake.detach().float())  # the history is kept in fp32 at any precision
                with self.autocast():
                    losses[name] = self.discriminator_objective(discriminator, real, pooled)
                self.backward(losses[name])
            self.step(self.optimizer_d)
        values = torch.stack([losses[name].detach().float() for name in LOSS_NAMES]).tolist()  # one sync
        return dict(zip(LOSS_NAMES, values))

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
