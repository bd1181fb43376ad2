"""Every knob of a CycleGAN run in one dataclass, with the paper's defaults (Section 4, Appendix 7).

Presets:
    paper  256 px, 9-block generator, 70x70 PatchGAN, 100 + 100 epochs, batch 1 (a GPU job).
    fast   the paper's run with the fast training step's switches for the hardware found.
    quick  the embedded toy dataset at 64 px with a small network: a visible translation on a CPU
           in a few minutes.
    smoke  seconds, for tests and CI.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from cyclegan_edu.errors import UserError
from cyclegan_edu.patchgan import DISCRIMINATOR_KINDS

GAN_LOSSES = ("lsgan", "vanilla")
PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda", "mps")
# The switches of the fast training step (fast.py); data_on_device changes the data path, not the step.
STEP_SWITCHES = ("batched_passes", "channels_last", "precision", "fused_adam", "compile")
# What `resume` may change: where the data is, how the run is executed, the learning rate to recover
# from a divergence, what is logged besides losses.csv (tensorboard: it changes no weight). Anything else
# would make the rest of the run another run than its first part.
RESUME_OVERRIDES = ("lr", "data", "device", "num_workers", "checkpoint_every", "skip_unreadable", "tensorboard")
# Eq. 3's terms and the design choices of Section 4 that the ablation study (Section 5.1.4) switches.
ABLATION_SWITCHES = ("gan_loss", "adversarial", "forward_cycle", "backward_cycle", "cycle_weight", "identity_weight",
                     "pool_size", "discriminator")


class ConfigError(UserError, ValueError):
    """A config value that cannot work; the message names the field and the allowed values."""


@dataclass
class Config:
    """All settings of a run. Defaults are the paper's; `help` metadata feeds the CLI's --help."""

    # Data (Appendix 7.1)
    data: str = field(default="", metadata={
        "help": "dataset folder with trainA/trainB/testA/testB; empty: the embedded toy dataset"})
    toy_image_size: int = field(default=64, metadata={"help": "image size of the embedded toy dataset"})
    load_size: int = field(default=286, metadata={"help": "images are resized to this square size"})
    crop_size: int = field(default=256, metadata={"help": "then randomly cropped to this size (a multiple of 4)"})
    flip: bool = field(default=True, metadata={"help": "random horizontal flips"})
    skip_unreadable: bool = field(default=False, metadata={
        "help": "leave out image files that cannot be decoded, with one warning, instead of stopping"})
    # Networks (Section 4, Appendix 7.2)
    generator_blocks: int = field(default=9, metadata={"help": "residual blocks: 9 for 256 px, 6 for 128 px"})
    generator_width: int = field(default=64, metadata={"help": "filters of the generator's first layer (ngf)"})
    discriminator: str = field(default="patch70", metadata={"help": f"one of {', '.join(DISCRIMINATOR_KINDS)}"})
    discriminator_width: int = field(default=64, metadata={"help": "filters of the discriminator's first layer (ndf)"})
    # Objective, Eq. 3, and the ablations of Section 5.1.4
    gan_loss: str = field(default="lsgan", metadata={"help": "lsgan (the paper's) or vanilla (cross-entropy)"})
    adversarial: bool = field(default=True, metadata={"help": "use the GAN terms (off: 'cycle alone')"})
    forward_cycle: bool = field(default=True, metadata={"help": "use the forward cycle loss F(G(a)) ~ a"})
    backward_cycle: bool = field(default=True, metadata={"help": "use the backward cycle loss G(F(b)) ~ b"})
    cycle_weight: float = field(default=10.0, metadata={"help": "lambda of Eq. 3"})
    identity_weight: float = field(default=0.5, metadata={
        "help": "identity loss weight relative to lambda; 0 turns it off"})
    pool_size: int = field(default=50, metadata={"help": "image history buffer size; 0 turns it off"})
    # Optimization (Section 4, "Training details")
    lr: float = field(default=2e-4, metadata={"help": "Adam learning rate"})
    beta1: float = field(default=0.5, metadata={"help": "Adam beta1"})
    beta2: float = field(default=0.999, metadata={"help": "Adam beta2"})
    batch_size: int = field(default=1, metadata={"help": "images per step"})
    n_epochs: int = field(default=100, metadata={"help": "epochs at the initial learning rate"})
    n_epochs_decay: int = field(default=100, metadata={
        "help": "epochs of linear decay toward zero (the official rule ends at 1/(n_epochs_decay + 1))"})
    iterations_per_epoch: int = field(default=0, metadata={"help": "cap on steps per epoch; 0: max(|A|, |B|) / batch"})
    # Running
    seed: int = field(default=0, metadata={"help": "seeds torch, the data order and the pools"})
    device: str = field(default="auto", metadata={
        "help": f"one of {', '.join(DEVICES)}; auto: CUDA, then MPS, then CPU"})
    num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes"})
    checkpoint_every: int = field(default=500, metadata={
        "help": "steps between checkpoints inside an epoch; 0: end of epoch only"})
    sample_images: int = field(default=4, metadata={"help": "test images per direction in the sample grids"})
    tensorboard: bool = field(default=False, metadata={
        "help": "also write TensorBoard scalars and sample grids to the run folder's tensorboard/ "
                "(needs the tensorboard package)"})
    # Speed (beyond the paper; all off by default, see fast.py)
    batched_passes: bool = field(default=False, metadata={
        "help": "one generator call for translation, identity and reconstruction passes"})
    channels_last: bool = field(default=False, metadata={"help": "NHWC memory layout"})
    precision: str = field(default="fp32", metadata={
        "help": f"one of {', '.join(PRECISIONS)}: autocast dtype (fp16 adds a GradScaler)"})
    fused_adam: bool = field(default=False, metadata={"help": "fused Adam kernels"})
    compile: bool = field(default=False, metadata={"help": "torch.compile the networks (CUDA graphs on GPU)"})
    data_on_device: bool = field(default=False, metadata={
        "help": "keep decoded images on the device; crop and flip there"})

    def validate(self) -> Config:
        """Raise ConfigError on the first impossible value; return self."""
        def require(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(message)

        require(self.gan_loss in GAN_LOSSES, f"gan_loss={self.gan_loss!r}: choose {' or '.join(GAN_LOSSES)}.")
        require(self.discriminator in DISCRIMINATOR_KINDS,
                f"discriminator={self.discriminator!r}: choose one of {', '.join(DISCRIMINATOR_KINDS)}.")
        require(self.precision in PRECISIONS, f"precision={self.precision!r}: choose one of {', '.join(PRECISIONS)}.")
        require(self.device in DEVICES, f"device={self.device!r}: choose one of {', '.join(DEVICES)}.")
        require(self.crop_size >= 32 and self.crop_size % 4 == 0,
                f"crop_size={self.crop_size} must be a multiple of 4 and at least 32 (e.g. 64, 128, 256): "
                "the 70x70 PatchGAN needs more than one position to normalize.")
        require(self.load_size >= self.crop_size,
                f"load_size={self.load_size} must be at least crop_size={self.crop_size}.")
        require(self.toy_image_size >= 32 and self.toy_image_size % 4 == 0,
                f"toy_image_size={self.toy_image_size} must be a multiple of 4 and at least 32.")
        for name in ("generator_width", "discriminator_width", "batch_size"):
            require(getattr(self, name) >= 1, f"{name}={getattr(self, name)} must be at least 1.")
        for name in ("generator_blocks", "pool_size", "n_epochs", "n_epochs_decay", "iterations_per_epoch",
                     "num_workers", "checkpoint_every", "sample_images"):
            require(getattr(self, name) >= 0, f"{name}={getattr(self, name)} must be 0 or more.")
        require(self.n_epochs + self.n_epochs_decay >= 1, "n_epochs + n_epochs_decay must be at least 1.")
        require(self.cycle_weight >= 0 and self.identity_weight >= 0, "cycle_weight and identity_weight must be >= 0.")
        require(self.lr > 0 and 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "need lr > 0 and 0 <= beta1, beta2 < 1.")
        require(self.adversarial or self.forward_cycle or self.backward_cycle or self.identity_weight > 0,
                "every loss term is switched off: keep at least one of adversarial, forward_cycle, backward_cycle.")
        return self

    @property
    def uses_fast_path(self) -> bool:
        """True when any switch of the fast training step is off its default (the plain step)."""
        defaults = {field.name: field.default for field in dataclasses.fields(self)}
        return any(getattr(self, name) != defaults[name] for name in STEP_SWITCHES)

    @property
    def total_epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build from a dict, rejecting unknown keys by name (e.g. from an old checkpoint)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}.")
        return cls(**values)


def paper() -> Config:
    """The paper's setting for 256 px datasets such as horse2zebra (Section 4, Appendix 7)."""
    return Config()


# The plain training step of cyclegan.py with the images read through the DataLoader: every speed switch
# at its default. `--plain-step` applies it to any preset; the ablation study's CPU budget is pinned to it.
PLAIN_STEP: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Config)
                              if f.name in (*STEP_SWITCHES, "data_on_device")}


def quick() -> Config:
    """The embedded toy dataset at 64 px, a small network: a visible translation in about 3 minutes on 2 CPU cores.

    Not the paper's optimization (batch 1 at lr 0.0002, Section 4): batch 4 at 4x the rate makes fewer, larger
    steps, which a CPU computes faster per image, and the fast step's batched passes with
    the images kept as tensors save another tenth (README, "The quick run", measured on 2 AVX2 cores).
    `--plain-step` (PLAIN_STEP) switches those two off.
    """
    return Config(load_size=72, crop_size=64, generator_blocks=3, generator_width=16, discriminator_width=16,
                  batch_size=4, lr=8e-4, n_epochs=2, n_epochs_decay=2, iterations_per_epoch=0, checkpoint_every=100,
                  batched_passes=True, data_on_device=True)


def smoke() -> Config:
    """A few seconds of training through every code path, for tests and CI."""
    return Config(load_size=36, crop_size=32, generator_blocks=1, generator_width=8, discriminator_width=8,
                  pool_size=4, n_epochs=1, n_epochs_decay=1, iterations_per_epoch=6, checkpoint_every=2,
                  sample_images=2)


def bf16_supported(device_type: str) -> bool:
    """Whether bf16 runs in hardware: CUDA GPUs from Ampere on; CPUs with AVX-512 BF16 or AMX."""
    import torch

    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device_type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own probes
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def fast_switches(device_type: str, bf16: bool | None = None) -> dict[str, Any]:
    """The speed switches that help on a device type, as measured by `cyclegan-edu bench` (README).

    On 2 CPU cores at 128 px: with AVX-512 BF16, batched passes + bf16 1.87x (bf16 alone 1.81x); without bf16 hardware,
    bf16 alone 0.02x (44 times slower, so it is on only where probed), batched passes 0.91x to 1.04x,
    channels_last 0.88x (off), compile 0.95x after its compile time (off). `bf16`: default, probed.
    """
    bf16 = bf16_supported(device_type) if bf16 is None else bf16
    if device_type == "cuda":
        return dict(batched_passes=True, channels_last=True, precision="bf16" if bf16 else "fp16",
                    fused_adam=True, compile=True, data_on_device=True)
    return dict(batched_passes=True, precision="bf16" if bf16 else "fp32")


def fast() -> Config:
    """The paper's run with the fast training step switched on for the hardware found."""
    import torch

    return dataclasses.replace(paper(), **fast_switches("cuda" if torch.cuda.is_available() else "cpu"))


PRESETS = {"paper": paper, "fast": fast, "quick": quick, "smoke": smoke}


def preset(name: str, **overrides: Any) -> Config:
    """A preset with some fields replaced, validated: `preset("quick", seed=3)`."""
    if name not in PRESETS:
        raise ConfigError(f"preset={name!r}: choose one of {', '.join(PRESETS)}.")
    return dataclasses.replace(PRESETS[name](), **overrides).validate()


def smoke_requested() -> bool:
    """True when CYCLEGAN_EDU_SMOKE=1: notebooks and the CLI then default to seconds-long runs."""
    return os.environ.get("CYCLEGAN_EDU_SMOKE", "") not in ("", "0")
