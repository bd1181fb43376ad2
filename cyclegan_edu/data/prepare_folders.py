"""Turning two folders of a user's own images into the trainA/trainB/testA/testB layout."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from cyclegan_edu.data.image_folders import DataError, find_images, load_rgb


@dataclass
class PreparedDataset:
    """What `prepare_custom_dataset` wrote and what it left out."""

    root: Path
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def resized(image: Image.Image, size: int | None) -> Image.Image:
    """Shorter side scaled to `size` (bicubic), aspect kept; unchanged when size is None."""
    if size is None:
        return image
    scale = size / min(image.size)
    return image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))),
                        Image.Resampling.BICUBIC)


def prepare_custom_dataset(a_dir: Path | str, b_dir: Path | str, out: Path | str, test_fraction: float = 0.1,
                           size: int | None = None, seed: int = 0) -> PreparedDataset:
    """Copy the images of `a_dir` and `b_dir` into `out` as RGB PNGs, split into train and test.

    The originals are only read. Unreadable files are skipped and reported. `out` must be new or
    empty, so nothing of the user's is overwritten; the layout appears only when complete.
    """
    if not 0 <= test_fraction < 1:
        raise DataError(f"test_fraction={test_fraction} must be at least 0 and below 1 (e.g. 0.1).")
    if size is not None and (size < 32 or size % 4):
        raise DataError(f"size={size} must be a multiple of 4 and at least 32 (e.g. 256).")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out} is not empty: choose a new folder, so nothing in it is overwritten.")
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.partial-*"):  # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    result = PreparedDataset(out)
    try:
        for domain, source in (("A", Path(a_dir)), ("B", Path(b_dir))):
            paths = find_images(source)
            order = np.random.default_rng((seed, ord(domain))).permutation(len(paths))
            n_test = max(1, round(len(paths) * test_fraction)) if test_fraction > 0 else 0
            written = 0
            for rank, index in enumerate(order):  # one image in memory at a time
                try:
                    image = resized(load_rgb(paths[index]), size)
                except DataError as error:
                    result.skipped.append((paths[index], str(error).split(": ", 1)[-1]))
                    continue
                split = f"test{domain}" if rank < n_test else f"train{domain}"
                (staging / split).mkdir(exist_ok=True)
                image.save(staging / split / f"{rank:05d}_{paths[index].stem}.png")
                result.counts[split] = result.counts.get(split, 0) + 1
                written += 1
            if written < 2:
                raise DataError(f"{source} holds {written} readable image(s); each domain needs at least 2.")
        for split in ("trainA", "trainB", "testA", "testB"):
            (staging / split).mkdir(exist_ok=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a failed run leaves nothing behind
        raise
    if out.exists():
        out.rmdir()  # empty, checked above
    os.replace(staging, out)
    return result
