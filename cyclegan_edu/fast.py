"""A fast training step: the same algorithm as `CycleGAN.train_step`, arranged for the hardware.

The plain step stays the readable reference. This class overrides only how the generator passes
and the discriminators' scores are computed (`batched_passes`) and the precision wrapper around the
step (`precision`, with its GradScaler); the objective itself is `CycleGAN`'s. Every switch is off
by default (`Config`), each means exactly what it says whatever the others are, and tests compare
each one with the plain step:

batched_passes  One call per generator where the official code makes several: G on [a, b] gives G(a)
                and the identity G(b); F on [b, a, G(a)] gives F(b), F(a) and the reconstruction
                F(G(a)); then G(F(b)). Each discriminator scores [real, fake] in one call. Valid
                because instance norm (and every other layer) treats each image on its own.
channels_last   NHWC memory layout, which tensor-core convolutions on GPUs prefer.
precision       "bf16" or "fp16" autocast; fp16 scales the losses with one GradScaler.
fused_adam      Adam's fused implementation (one kernel per step for all parameters).
compile         torch.compile on the four networks; on CUDA with mode "reduce-overhead", which
                captures CUDA graphs (the shapes stay fixed at batch 1, so they hold).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from cyclegan_edu.config import Config
from cyclegan_edu.cyclegan import CycleGAN, GeneratorPasses

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class FastCycleGAN(CycleGAN):
    """CycleGAN with a batched, mixed-precision, optionally compiled training step."""

    def __init__(self, *, batched_passes: bool = True, channels_last: bool = False, precision: str = "fp32",
                 fused_adam: bool = False, **model_options: Any) -> None:
        super().__init__(**model_options)
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}: choose one of {', '.join(PRECISIONS)}.")
        self.batched_passes, self.channels_last, self.precision = batched_passes, channels_last, precision
        self.fused_adam = fused_adam
        self.scaler: torch.amp.GradScaler | None = None

    def prepare(self, device: torch.device, compile_networks: bool = False) -> FastCycleGAN:
        """Move to `device` and apply the layout, optimizer, scaler and compile switches."""
        self.to(device)
        if self.channels_last:
            self.to(memory_format=torch.channels_last)
        if self.fused_adam:  # rebuilt on the device: fused Adam needs its parameters there
            for name in ("optimizer_g", "optimizer_d"):
                old = getattr(self, name)
                new = torch.optim.Adam(old.param_groups[0]["params"], **{**old.defaults, "fused": True})
                new.load_state_dict(old.state_dict())
                setattr(self, name, new)
        if self.precision == "fp16":
            self.scaler = torch.amp.GradScaler(device.type)
        if compile_networks:
            mode = "reduce-overhead" if device.type == "cuda" else None
            for network in (self.generator_ab, self.generator_ba, self.discriminator_a, self.discriminator_b):
                network.compile(mode=mode)  # in place: state_dict keys stay those of the official layout
        return self

    def training_state(self) -> dict[str, Any]:
        state = super().training_state()
        if self.scaler is not None:
            state["grad_scaler"] = self.scaler.state_dict()
        return state

    def load_training_state(self, state: dict[str, Any]) -> None:
        super().load_training_state(state)
        if self.scaler is not None and "grad_scaler" in state:
            self.scaler.load_state_dict(state["grad_scaler"])

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast to bf16 or fp16 on the networks' device; nothing for fp32."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(next(self.parameters()).device.type, dtype=dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            super().step(optimizer)
        else:
            self.average_gradients(optimizer)  # before the scaler's inf check: every process then skips or steps alike
            self.scaler.step(optimizer)

    def generator_passes(self, real_a: torch.Tensor, real_b: torch.Tensor) -> GeneratorPasses:
        """The passes of `CycleGAN.generator_passes`, batched when `batched_passes` is on."""
        if not self.batched_passes:
            return super().generator_passes(real_a, real_b)
        n, with_identity = len(real_a), self.identity_weight > 0
        g_out = self.generator_ab(torch.cat([real_a, real_b]) if with_identity else real_a).split(n)
        fake_b = g_out[0]  # G(a), then G(b)
        f_inputs = ([fake_b] if self.forward_cycle else []) + [real_b] + ([real_a] if with_identity else [])
        f_out = self.generator_ba(torch.cat(f_inputs)).split(n)  # in the authors' order: F(G(a)), F(b), F(a)
        fake_a = f_out[1 if self.forward_cycle else 0]
        return GeneratorPasses(
            fake_b=fake_b,
            reconstructed_a=f_out[0] if self.forward_cycle else None,
            fake_a=fake_a,
            reconstructed_b=self.generator_ab(fake_a) if self.backward_cycle else None,
            identity_b=g_out[1] if with_identity else None,
            identity_a=f_out[-1] if with_identity else None,
        )

    def score_real_and_fake(self, discriminator: nn.Module, real: torch.Tensor,
                            fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D(real) and D(fake), in one call on the two batches stacked when `batched_passes` is on."""
        if not self.batched_passes:
            return super().score_real_and_fake(discriminator, real, fake)
        scores = discriminator(torch.cat([real, fake.detach()]))
        return scores[: len(real)], scores[len(real):]

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
        if self.channels_last:
            real_a, real_b = (x.contiguous(memory_format=torch.channels_last) for x in (real_a, real_b))
        losses = super().train_step(real_a, real_b)
        if self.scaler is not None:
            self.scaler.update()  # one scaler for both optimizers: update once per iteration
        return losses


def build_model(config: Config, device: torch.device | str = "cpu") -> CycleGAN:
    """The model `config` describes, on `device`: the plain `CycleGAN`, or `FastCycleGAN` with exactly
    the config's step switches when any of them is on. Weights come from torch's global RNG: seed it first."""
    options: dict[str, Any] = dict(
        gan_loss=config.gan_loss, adversarial=config.adversarial, forward_cycle=config.forward_cycle,
        backward_cycle=config.backward_cycle, cycle_weight=config.cycle_weight,
        identity_weight=config.identity_weight, pool_size=config.pool_size,
        generator_blocks=config.generator_blocks, generator_width=config.generator_width,
        discriminator=config.discriminator, discriminator_width=config.discriminator_width,
        image_size=config.crop_size, lr=config.lr, betas=(config.beta1, config.beta2), seed=config.seed)
    if not config.uses_fast_path:
        return CycleGAN(**options).to(device)
    model = FastCycleGAN(**options, batched_passes=config.batched_passes, channels_last=config.channels_last,
                         precision=config.precision, fused_adam=config.fused_adam)
    return model.prepare(torch.device(device), compile_networks=config.compile)
