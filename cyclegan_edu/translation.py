"""Translating a user's images with a trained generator, or one of the authors' pretrained ones.

Test-time preprocessing as in the authors' `test.py`: resize to size x size (bicubic), no crop, no
flip; each output is a PNG at the same relative path under the output folder.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

from cyclegan_edu.data.image_folders import DataError, find_images, load_rgb, test_transform, to_unit_range
from cyclegan_edu.errors import InputNotFound
from cyclegan_edu.official import is_training_checkpoint, load_official_generator


def generator_image_size(checkpoint: Path | str) -> int:
    """The crop size a run trained at, or 256 for an official generator file (which records none)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    return state["config"]["crop_size"] if is_training_checkpoint(state) else 256


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
                     size: int | None = None, device: torch.device | str = "cpu") -> list[Path]:
    """G ("AtoB") or F ("BtoA") of `checkpoint` applied to every image of `source`; returns the PNGs written."""
    if not Path(checkpoint).is_file():
        raise InputNotFound(f"No checkpoint at {checkpoint}: give a run's checkpoints/latest.pt or a generator .pth.")
    generator = load_official_generator(checkpoint, device=device, direction=direction)
    size = size or generator_image_size(checkpoint)
    if size <= 0 or size % 4:
        raise DataError(f"--size {size} must be a positive multiple of 4.")
    inputs, base = images_to_translate(Path(source))
    written = []
    for path in inputs:
        image = test_transform(load_rgb(path), size).unsqueeze(0).to(device)
        target = (Path(output) / path.relative_to(base)).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(to_unit_range(generator(image)).cpu(), target)
        written.append(target)
    return written
