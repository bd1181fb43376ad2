"""Reading and writing generators in the layout of the authors' code (pytorch-CycleGAN-and-pix2pix).

Their `latest_net_G_A.pth` files and pretrained `NAME.pth` generators are plain state dicts of a
`ResnetGenerator` whose layers sit in one `nn.Sequential` called `model`; `ResnetGenerator` here has
the same layout, so the keys match one to one. Files saved by old PyTorch versions also carry
InstanceNorm `running_mean` / `running_var` / `num_batches_tracked` entries that the authors' own
loader drops (`patch_instance_norm_state_dict`); so does this one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from cyclegan_edu.errors import CheckpointMismatch, load_tensors
from cyclegan_edu.generator import ResnetGenerator

STRAY_NORM_KEYS = ("running_mean", "running_var", "num_batches_tracked")


def clean_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop stray InstanceNorm statistics and a DataParallel `module.` prefix."""
    return {key.removeprefix("module."): value for key, value in state.items()
            if not key.endswith(STRAY_NORM_KEYS)}


def architecture_of(state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(residual blocks, width) of a generator state dict in the official layout."""
    if "model.1.weight" not in state:
        raise CheckpointMismatch("not a ResNet generator in the official layout: no 'model.1.weight' key "
                                 f"(first keys: {', '.join(list(state)[:4])}).")
    block_indices = {int(m.group(1)) for key in state if (m := re.match(r"model\.(\d+)\.conv_block\.", key))}
    return len(block_indices), state["model.1.weight"].shape[0]


def is_training_checkpoint(state: dict) -> bool:
    """True for a cyclegan_edu `latest.pt` (which holds both generators), False for one generator."""
    return isinstance(state.get("model"), dict) and "networks" in state["model"]


def read_generator_file(path: Path | str, direction: str = "AtoB", loaded: Any = None) -> dict[str, torch.Tensor]:
    """A generator state dict from an official `.pth` file or a cyclegan_edu checkpoint.

    Loaded with `weights_only=True`: these files come from the web and must not run code. `loaded`
    is the file's content where the caller has read it already (a checkpoint is read once, not once
    per generator). From a training checkpoint (`latest.pt`) it takes G for "AtoB" and F for "BtoA";
    an official file holds one generator, whatever the direction.
    """
    state = loaded if loaded is not None else load_tensors(
        path, "a generator's weights (a run's latest.pt, or an official .pth)")
    if not isinstance(state, dict):
        raise CheckpointMismatch(f"{path} holds a {type(state).__name__}, not a generator state dict.")
    if is_training_checkpoint(state):
        prefix = {"AtoB": "generator_ab.", "BtoA": "generator_ba."}[direction]
        state = {k.removeprefix(prefix): v for k, v in state["model"]["networks"].items() if k.startswith(prefix)}
    return clean_state_dict(state)


def load_official_generator(path: Path | str, n_blocks: int | None = None, width: int | None = None,
                            device: torch.device | str = "cpu", direction: str = "AtoB",
                            loaded: Any = None) -> ResnetGenerator:
    """A `ResnetGenerator` holding the weights of an official generator file.

    `n_blocks` and `width`, when given, are checked against the file: a mismatch raises
    CheckpointMismatch saying what differs; when left out they are read from the file. `loaded`: the
    file's content, where the caller has read it already.
    """
    state = read_generator_file(path, direction, loaded)
    file_blocks, file_width = architecture_of(state)
    if n_blocks is not None and n_blocks != file_blocks:
        raise CheckpointMismatch(f"{path}: the checkpoint has {file_blocks} residual blocks, this generator has "
                                 f"{n_blocks}. Build it with n_blocks={file_blocks}.")
    if width is not None and width != file_width:
        raise CheckpointMismatch(f"{path}: the checkpoint has width {file_width}, this generator has {width}. "
                                 f"Build it with width={file_width}.")
    generator = ResnetGenerator(file_blocks, file_width)
    try:
        generator.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointMismatch(f"{path} does not fit a {file_blocks}-block ResNet generator: {error}") from error
    return generator.to(device).eval()


def export_official_generator(generator: ResnetGenerator, path: Path | str) -> Path:
    """Save a generator's state dict so the authors' `test.py` (or `load_official_generator`) reads it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}, path)
    return path
