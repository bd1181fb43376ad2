"""Unaligned image-folder data, preprocessed as in the paper (Appendix 7.1 and the official code).

CycleGAN learns from two *unpaired* sets: images of domain A (say horses) and of domain B (zebras).
A dataset root holds four folders, the layout of every dataset the authors published::

    ROOT/trainA  ROOT/trainB  ROOT/testA  ROOT/testB

Training images are resized to 286x286 (bicubic), randomly cropped to 256x256, randomly flipped
left-right and scaled to [-1, 1]; A and B get independent crops and flips. An epoch has
max(|A|, |B|) items: the A index walks a shuffled order and the B index is drawn at random, so the
pairs never repeat in lockstep. Every random choice here comes from a generator seeded by
(seed, epoch, index), never from a global RNG, so a seed fixes the whole stream and a run resumed in
the middle of an epoch sees exactly the images it would have seen.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from cyclegan_edu.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
LAYOUT_HELP = (
    "A dataset folder must hold trainA/, trainB/, testA/ and testB/ with images of domain A and B. "
    "Get one with `python data_scripts/download_cyclegan_dataset.py horse2zebra`, or build one from "
    "your own images with `python data_scripts/prepare_custom_dataset.py A_DIR B_DIR OUT`."
)


class DataError(UserError, ValueError):
    """Bad input data: the message names the file or folder and says what to do."""


def is_system_metadata(path: Path) -> bool:
    """Files that macOS and Windows leave beside images: `._name` forks, `__MACOSX/`, hidden files."""
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def find_images(folder: Path | str) -> list[Path]:
    """All image files under `folder`, searched recursively, in sorted order; system metadata left out."""
    folder = Path(folder)
    if folder.is_file():
        raise DataError(f"{folder} is a file, not a folder of images. {LAYOUT_HELP}")
    if not folder.is_dir():
        raise DataError(f"Image folder {folder} does not exist. {LAYOUT_HELP}")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                  and not is_system_metadata(p.relative_to(folder)))


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode (L, LA, P, RGBA, CMYK, I;16, I, F) to 8-bit RGB.

    Alpha is dropped as in the official loader (`Image.open(path).convert("RGB")`); 16-bit and
    32-bit grayscale are rescaled to 0..255 first, since Pillow's convert would clip them.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        full_scale = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        image = Image.fromarray(np.clip(pixels / full_scale * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return image if image.mode == "RGB" else image.convert("RGB")


def load_rgb(path: Path | str) -> Image.Image:
    """Decode one image file to RGB the right way up (EXIF orientation applied, as a phone photo is
    meant to be seen), or raise a DataError that names the file."""
    try:
        with Image.open(path) as image:
            image.load()
            return to_rgb(ImageOps.exif_transpose(image))
    except Image.DecompressionBombError as error:
        raise DataError(f"Image {path} is too large to decode safely ({error}): resize it, or delete it.") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(
            f"Cannot read image {path}: {error}. The file is corrupt or not an image despite its "
            "name: replace or delete it, or leave such files out (--skip-unreadable; skip_unreadable=True "
            "in Python)."
        ) from error


def check_sizes(load_size: int, crop_size: int) -> None:
    """Reject sizes the ResNet generator cannot map back to the same size.

    Two stride-2 downsamplings and two stride-2 upsamplings return the input size only for sizes
    that are multiples of 4.
    """
    if crop_size <= 0 or crop_size % 4:
        raise DataError(f"crop_size={crop_size} must be a positive multiple of 4, e.g. 64, 128 or 256.")
    if load_size < crop_size:
        raise DataError(f"load_size={load_size} is smaller than crop_size={crop_size}: "
                        "images are resized to load_size and then cropped to crop_size.")


def scan_domain(folder: Path, min_size: int, skip_unreadable: bool) -> list[Path]:
    """Find, decode and size-check every image of one domain folder, so bad files fail now.

    An unreadable file raises DataError, or is left out with one warning listing all such files when
    `skip_unreadable` is set. An image smaller than `min_size` on a side always raises.
    """
    if not folder.exists():
        raise DataError(f"Domain folder {folder} is missing. {LAYOUT_HELP}")
    paths = find_images(folder)
    if not paths:
        raise DataError(f"Domain folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}). {LAYOUT_HELP}")
    readable, unreadable = [], []
    for path in paths:
        try:
            width, height = load_rgb(path).size
        except DataError:
            if not skip_unreadable:
                raise
            unreadable.append(path)
            continue
        if min(width, height) < min_size:
            raise DataError(
                f"Image {path} is {width}x{height}, smaller than the crop size {min_size}: use larger "
                "images, a smaller crop_size, or delete this file."
            )
        readable.append(path)
    if unreadable:
        warnings.warn(f"Skipped {len(unreadable)} unreadable file(s) in {folder}: "
                      + ", ".join(str(p) for p in unreadable), stacklevel=3)
    if not readable:
        raise DataError(f"Domain folder {folder} holds no readable images. {LAYOUT_HELP}")
    return readable


def to_model_range(image: Image.Image | torch.Tensor) -> torch.Tensor:
    """PIL RGB image or uint8 tensor (..., 3, H, W) -> float in [-1, 1], the range of the generator's Tanh."""
    pixels = TF.pil_to_tensor(image) if isinstance(image, Image.Image) else image
    return TF.normalize(pixels.float().div(255), [0.5] * 3, [0.5] * 3)


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] model range -> [0, 1] pixel range, clamped."""
    return ((images + 1) / 2).clamp(0, 1)


def test_transform(image: Image.Image, size: int) -> torch.Tensor:
    """Test-time preprocessing: resize to size x size (bicubic), no crop, no flip."""
    return to_model_range(TF.resize(image, [size, size], InterpolationMode.BICUBIC))


@dataclass(frozen=True)
class Crop:
    """Where a training image is cropped and whether it is flipped."""

    top: int
    left: int
    flip: bool


def draw_crop(rng: np.random.Generator, load_size: int, crop_size: int, flip: bool) -> Crop:
    """A random crop position in the load_size square and a coin flip (paper: random crop, flip)."""
    top, left = rng.integers(0, load_size - crop_size + 1, size=2)
    return Crop(int(top), int(left), bool(flip and rng.random() < 0.5))


def resized(image: Image.Image, load_size: int) -> Image.Image:
    """Resize to load_size x load_size, bicubic, as the official `resize_and_crop`."""
    return TF.resize(image, [load_size, load_size], InterpolationMode.BICUBIC)


def crop_and_flip(image: Image.Image | torch.Tensor, crop: Crop, crop_size: int) -> Image.Image | torch.Tensor:
    """Apply a Crop to a PIL image or a (..., H, W) tensor alike."""
    image = TF.crop(image, crop.top, crop.left, crop_size, crop_size)
    return TF.hflip(image) if crop.flip else image


def train_transform(image: Image.Image, load_size: int, crop_size: int, crop: Crop) -> torch.Tensor:
    """Paper preprocessing: resize to load_size (bicubic), crop, maybe flip, to [-1, 1]."""
    return to_model_range(crop_and_flip(resized(image, load_size), crop, crop_size))


@dataclass(frozen=True)
class ItemPlan:
    """Which images make training item `index` of an epoch, and how each is cropped."""

    a: int
    b: int
    crop_a: Crop
    crop_b: Crop


class UnalignedDataset(Dataset):
    """Images of domain A and domain B, drawn independently (official `UnalignedDataset`).

    Args:
        root: folder with trainA/, trainB/, testA/, testB/.
        phase: "train" (random crops and flips, random B partner) or "test" (deterministic).
        load_size, crop_size: resize-then-crop sizes; the paper uses 286 and 256.
        flip: random horizontal flips in training (paper: on).
        seed: fixes the shuffled A order, the B partners, crops and flips of every epoch.
        skip_unreadable: leave out corrupt files with one warning instead of raising.

    Each item is a dict: "A", "B" tensors (3, crop, crop) in [-1, 1] and "A_path", "B_path".
    """

    def __init__(self, root: Path | str, phase: str = "train", load_size: int = 286, crop_size: int = 256,
                 flip: bool = True, seed: int = 0, skip_unreadable: bool = False) -> None:
        if phase not in ("train", "test"):
            raise DataError(f"phase={phase!r} must be 'train' or 'test'.")
        check_sizes(load_size, crop_size)
        self.root = Path(root)
        if not self.root.is_dir():
            kind = "is a file, not a folder" if self.root.exists() else "does not exist"
            raise DataError(f"Dataset folder {self.root} {kind}. {LAYOUT_HELP}")
        self.phase, self.load_size, self.crop_size, self.flip, self.seed = phase, load_size, crop_size, flip, seed
        min_size = crop_size if phase == "train" else 1
        self.paths_a = scan_domain(self.root / f"{phase}A", min_size, skip_unreadable)
        self.paths_b = scan_domain(self.root / f"{phase}B", min_size, skip_unreadable)
        self.set_epoch(0)

    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))  # official: one epoch = max(|A|, |B|)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order, partners, crops and flips `__getitem__` returns."""
        self.epoch = epoch
        self.order = np.random.default_rng((self.seed, epoch)).permutation(len(self))  # shuffled A walk

    def plan(self, index: int) -> ItemPlan:
        """The images and crops of training item `index` in the current epoch, from its own RNG."""
        rng = np.random.default_rng((self.seed, self.epoch, index))
        b = int(rng.integers(len(self.paths_b)))  # random partner: no lockstep pairs
        crop_a = draw_crop(rng, self.load_size, self.crop_size, self.flip)
        crop_b = draw_crop(rng, self.load_size, self.crop_size, self.flip)
        return ItemPlan(int(self.order[index] % len(self.paths_a)), b, crop_a, crop_b)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        if self.phase == "test":
            path_a, path_b = self.paths_a[index % len(self.paths_a)], self.paths_b[index % len(self.paths_b)]
            return {"A": test_transform(load_rgb(path_a), self.crop_size),
                    "B": test_transform(load_rgb(path_b), self.crop_size),
                    "A_path": str(path_a), "B_path": str(path_b)}
        plan = self.plan(index)
        path_a, path_b = self.paths_a[plan.a], self.paths_b[plan.b]
        return {"A": train_transform(load_rgb(path_a), self.load_size, self.crop_size, plan.crop_a),
                "B": train_transform(load_rgb(path_b), self.load_size, self.crop_size, plan.crop_b),
                "A_path": str(path_a), "B_path": str(path_b)}


class DecodedImages:
    """The training images decoded and resized once, kept on `device`; crops and flips happen there.

    `batch(indices)` returns exactly what a DataLoader over `dataset` returns for those indices
    (the same plans, the same arithmetic), without decoding files on every step.
    """

    def __init__(self, dataset: UnalignedDataset, device: torch.device | str) -> None:
        self.dataset = dataset

        def decode(paths: list[Path]) -> torch.Tensor:  # (N, 3, load, load) uint8
            return torch.stack([TF.pil_to_tensor(resized(load_rgb(p), dataset.load_size)) for p in paths]).to(device)

        self.images_a, self.images_b = decode(dataset.paths_a), decode(dataset.paths_b)

    def batch(self, indices: list[int]) -> dict[str, torch.Tensor]:
        plans = [self.dataset.plan(i) for i in indices]
        size = self.dataset.crop_size

        def stack(images: torch.Tensor, picks: list[tuple[int, Crop]]) -> torch.Tensor:
            return to_model_range(torch.stack([crop_and_flip(images[i], crop, size) for i, crop in picks]))

        return {"A": stack(self.images_a, [(p.a, p.crop_a) for p in plans]),
                "B": stack(self.images_b, [(p.b, p.crop_b) for p in plans])}


def batches_from(start: int, length: int, batch_size: int) -> Iterable[list[int]]:
    """Index batches of one epoch starting at `start`, for resuming in the middle of an epoch."""
    return (list(range(i, min(i + batch_size, length))) for i in range(start, length, batch_size))
