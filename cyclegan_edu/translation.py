"""Translating a user's images with a trained generator, or one of the authors' pretrained ones.

Test-time preprocessing as in the authors' `test.py`: resize to size x size (bicubic), no crop, no
flip; each output is a PNG at the same relative path under the output folder.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

from cyclegan_edu.data.image_folders import DataError, find_images, load_rgb, test_transform, to_unit_range
from cyclegan_edu.errors import InputNotFound, WouldOverwrite, load_tensors
from cyclegan_edu.official import is_training_checkpoint, load_official_generator


def generator_image_size(state: dict) -> int:
    """The crop size a run trained at, from its checkpoint's content; 256 for an official generator file
    (which records none)."""
    return state["config"]["crop_size"] if is_training_checkpoint(state) and "config" in state else 256


def output_paths(inputs: list[Path], base: Path, output: Path, overwrite: bool) -> list[Path]:
    """Where each translation goes (`output`/relative path, as PNG), checked before anything is written:
    never onto an input, never two onto one name, onto an existing file only with `overwrite`."""
    targets = [(output / path.relative_to(base)).with_suffix(".png") for path in inputs]
    resolved_inputs = {path.resolve() for path in inputs}
    onto_input = [t for t in targets if t.resolve() in resolved_inputs]
    if onto_input:
        raise WouldOverwrite(f"Translating would replace the input {onto_input[0]} (and {len(onto_input) - 1} more): "
                             "choose an --output folder outside the input folder.")
    seen: dict[Path, Path] = {}
    for path, target in zip(inputs, targets, strict=True):
        if target in seen:
            raise WouldOverwrite(f"{seen[target]} and {path} would both be written to {target}: rename one of them.")
        seen[target] = path
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise WouldOverwrite(f"{existing[0]} (and {len(existing) - 1} more) already exist: choose a new --output "
                             "folder, or pass --overwrite to replace them.")
    return targets


def images_to_translate(source: Path) -> tuple[list[Path], Path]:
    """The image files of `source` (a file or a folder) and the folder their output paths are relative to."""
    if source.is_file():
        return [source], source.parent
    images = find_images(source)
    if not images:
        raise DataError(f"{source} holds no images to translate.")
    return images, source


@torch.no_grad()
def translate_images(checkpoint: Path | str, source: Path | str, output: Path | str, direction: str = "AtoB",
                     size: int | None = None, device: torch.device | str = "cpu",
                     overwrite: bool = False) -> list[Path]:
    """G ("AtoB") or F ("BtoA") of `checkpoint` applied to every image of `source`; returns the PNGs written.

    Nothing is written onto an input; an existing output file is replaced only with `overwrite`."""
    if not Path(checkpoint).is_file():
        raise InputNotFound(f"No checkpoint at {checkpoint}: give a run's checkpoints/latest.pt or a generator .pth.")
    state = load_tensors(checkpoint, "a generator's weights (a run's latest.pt, or an official .pth)")
    generator = load_official_generator(checkpoint, device=device, direction=direction, loaded=state)
    size = size or generator_image_size(state)
    if size <= 0 or size % 4:
        raise DataError(f"--size {size} must be a positive multiple of 4.")
    inputs, base = images_to_translate(Path(source))
    targets = output_paths(inputs, base, Path(output), overwrite)
    for path, target in zip(inputs, targets, strict=True):
        image = test_transform(load_rgb(path), size).unsqueeze(0).to(device)
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(to_unit_range(generator(image)).cpu(), target)
    return targets
