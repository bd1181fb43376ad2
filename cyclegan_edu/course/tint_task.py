"""A colour-shift task for the identity loss (paper Section 5.2, "Photo generation from paintings", Fig. 9).

Without the identity term, CycleGAN's G and F may change the tint of an image when nothing asks for
it: the paper's Monet paintings came out as sunset photos. Eq. 3 does not forbid it, since a tint
that G shifts and F shifts back costs no cycle loss, and a shifted image can still look like the
target domain. The identity loss, ||G(b) - b||_1 on images already in G's target domain, asks G to
leave colours alone.

The task makes the tint measurable. Every 32 px picture is a backdrop of one colour (any hue, a little
brighter at the top) with a disk on it, inside a black and white frame:

    domain A  the disk is white over black        domain B  the disk is black over white

Both domains draw backdrop colours from the same distribution, so the right translation A -> B flips
the disk and keeps the backdrop exactly. The frame is there because the generators' instance norm
removes any colour offset shared by a whole image: without fixed black and white to compare against,
no generator could see, let alone keep, the tint. We measure the backdrop's colour shift, the mean
absolute change of its per-channel means (0..1 scale), for G on its inputs (G(a) against a) and for
G on images already in its target domain (G(b) against b).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np
import torch

from cyclegan_edu.cyclegan import CycleGAN

DOMAINS = ("A", "B")
DISK_SHADES = {"A": (1.0, 0.0), "B": (0.0, 1.0)}  # grey of the disk's (upper, lower) half
FRAME = 0.125  # frame width, a fraction of the side: black outer and white inner half (2 px each at 32 px)


@dataclass(frozen=True)
class TintScene:
    """One picture: the backdrop colour (RGB in 0..1) and the disk's centre and radius (fractions of the side)."""

    tint: tuple[float, float, float]
    x: float
    y: float
    radius: float


def sample_scenes(count: int, seed: int) -> list[TintScene]:
    """`count` scenes from the random stream `seed`: any hue, saturation and brightness 0.45 to 0.8."""
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(count):
        hue, saturation, value = rng.uniform(0, 1), rng.uniform(0.45, 0.8), rng.uniform(0.45, 0.8)
        red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
        radius = float(rng.uniform(0.12, 0.2))
        x, y = rng.uniform(FRAME + 0.02 + radius, 0.98 - FRAME - radius, size=2)
        scenes.append(TintScene((red, green, blue), float(x), float(y), radius))
    return scenes


def pixel_distances(scene: TintScene, size: int) -> np.ndarray:
    """(size, size) distance of each pixel centre from the disk's centre, in fractions of the side."""
    centres = (np.arange(size) + 0.5) / size
    return np.hypot(centres[None, :] - scene.x, centres[:, None] - scene.y)  # rows are y


def frame_rings(size: int) -> np.ndarray:
    """(size, size) ints: 1 on the frame's outer (black) ring, 2 on its inner (white) ring, 0 inside."""
    index = np.arange(size)
    edge = np.minimum(index, size - 1 - index)
    depth = np.minimum(edge[:, None], edge[None, :])  # pixels to the nearest border
    half = round(FRAME * size / 2)
    return np.where(depth < half, 1, np.where(depth < 2 * half, 2, 0))


def render(scene: TintScene, domain: str, size: int = 32) -> torch.Tensor:
    """(3, size, size) in [-1, 1]: backdrop (15% brighter at the top than at the bottom), disk, frame."""
    if domain not in DOMAINS:
        raise ValueError(f"domain={domain!r}: choose 'A' or 'B'.")
    shading = np.linspace(1.075, 0.925, size)[None, :, None]  # (1, H, 1)
    backdrop = np.clip(np.array(scene.tint)[:, None, None] * shading, 0, 1)  # (3, H, W) after broadcasting
    upper, lower = DISK_SHADES[domain]
    rows = (np.arange(size) + 0.5) / size
    disk = lower + (upper - lower) * np.clip((scene.y - rows) * size + 0.5, 0, 1)[None, :, None]  # (1, H, 1)
    coverage = np.clip((scene.radius - pixel_distances(scene, size)) * size + 0.5, 0, 1)[None]  # soft edge
    image = (1 - coverage) * backdrop + coverage * disk
    rings = frame_rings(size)[None]
    image = np.where(rings == 1, 0.0, np.where(rings == 2, 1.0, image))
    return torch.from_numpy(image * 2 - 1).float()


def backdrop_mask(scene: TintScene, size: int = 32, margin: float = 1.5) -> torch.Tensor:
    """(size, size) bool: inside the frame and more than `margin` pixels from the disk, where nothing should change."""
    outside_disk = pixel_distances(scene, size) > scene.radius + margin / size
    return torch.from_numpy(outside_disk & (frame_rings(size) == 0))


def disk_mask(scene: TintScene, size: int = 32, margin: float = 1.5) -> torch.Tensor:
    """(size, size) bool: more than `margin` pixels inside the disk's edge, where the translation must change."""
    return torch.from_numpy(pixel_distances(scene, size) < scene.radius - margin / size)


@dataclass
class TintImages:
    """Scenes of one random stream, each rendered in both domains, with its backdrop mask."""

    scenes: list[TintScene]
    a: torch.Tensor  # (N, 3, H, W), the scenes in domain A
    b: torch.Tensor  # (N, 3, H, W), the same scenes in domain B: each one the other's exact translation
    backdrop: torch.Tensor  # (N, H, W) bool
    disk: torch.Tensor  # (N, H, W) bool


def tint_images(count: int, seed: int, size: int = 32) -> TintImages:
    """Render `count` scenes of the stream `seed` in both domains."""
    scenes = sample_scenes(count, seed)
    return TintImages(scenes, torch.stack([render(s, "A", size) for s in scenes]),
                      torch.stack([render(s, "B", size) for s in scenes]),
                      torch.stack([backdrop_mask(s, size) for s in scenes]),
                      torch.stack([disk_mask(s, size) for s in scenes]))


def backdrop_colour(images: torch.Tensor, backdrop: torch.Tensor) -> torch.Tensor:
    """(N, 3) mean colour of each image's backdrop pixels, on a 0..1 scale."""
    weights = backdrop.unsqueeze(1).float()  # (N, 1, H, W)
    unit = (images.float() + 1) / 2
    return (unit * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3))


def tint_shift(inputs: torch.Tensor, outputs: torch.Tensor, backdrop: torch.Tensor) -> float:
    """Mean absolute change of the backdrop's per-channel means (0..1 scale; x255 for grey levels)."""
    return float((backdrop_colour(outputs, backdrop) - backdrop_colour(inputs, backdrop)).abs().mean())


def disk_error(images: TintImages, translated: torch.Tensor) -> float:
    """How far G(a) is from the true translation b inside the disks, as a share of how far a is.

    1: the disks were left as they were; 0: every disk flipped exactly as the true translation does.
    """
    inside = images.disk.unsqueeze(1).expand_as(images.a)  # (N, 3, H, W)
    return float((translated.float() - images.b)[inside].abs().mean() / (images.a - images.b)[inside].abs().mean())


def hue_shift(inputs: torch.Tensor, outputs: torch.Tensor, backdrop: torch.Tensor) -> float:
    """Mean turn of the backdrop's hue on the colour wheel, in degrees (0 to 180)."""
    def hues(images: torch.Tensor) -> torch.Tensor:
        colours = backdrop_colour(images, backdrop).clamp(0, 1).tolist()
        return torch.tensor([360 * colorsys.rgb_to_hsv(*colour)[0] for colour in colours])

    turn = (hues(outputs) - hues(inputs)).abs()
    return float(torch.minimum(turn, 360 - turn).mean())


def flattened_tint(images: TintImages) -> torch.Tensor:
    """The domain-B images with every backdrop repainted in the set's average backdrop colour.

    A reference point: what a generator that ignores its input's tint and paints one typical colour
    would score on `tint_shift` against `images.b`.
    """
    average = backdrop_colour(images.b, images.backdrop).mean(dim=0) * 2 - 1  # (3,) in [-1, 1]
    return torch.where(images.backdrop.unsqueeze(1), average[None, :, None, None], images.b)


@dataclass
class TintRun:
    """What `train_tint_cyclegan` returns: the model and the tint shifts measured along the way."""

    model: CycleGAN
    steps: list[int] = field(default_factory=list)
    shift_translated: list[float] = field(default_factory=list)  # G(a) against a: G on its inputs
    shift_identity: list[float] = field(default_factory=list)  # G(b) against b: G on its own domain
    losses: list[dict[str, float]] = field(default_factory=list)


@torch.no_grad()
def measure(model: CycleGAN, test: TintImages) -> tuple[float, float]:
    """(shift of G(a) from a, shift of G(b) from b) on the test scenes' backdrops."""
    return (tint_shift(test.a, model.translate(test.a, "AtoB"), test.backdrop),
            tint_shift(test.b, model.translate(test.b, "AtoB"), test.backdrop))


def train_tint_cyclegan(identity_weight: float, steps: int = 500, seed: int = 0, size: int = 32,
                        batch_size: int = 4, n_train: int = 400, n_test: int = 64, record_every: int = 100,
                        generator_blocks: int = 2, generator_width: int = 16, discriminator: str = "patch16",
                        discriminator_width: int = 16) -> TintRun:
    """Train the package's CycleGAN on the tint task, measuring both tint shifts every `record_every` steps.

    `identity_weight` is relative to lambda, as in `CycleGAN`: 0.5 is the paper's, 0 turns the term off.
    Everything else is the paper's (least squares, lambda 10, Adam 2e-4, pools of 50) but the sizes: a
    small generator and a 16x16 PatchGAN, since a 70x70 one would see more than a whole 32 px image.
    Domain A, domain B and the test scenes come from disjoint random streams, so training is unpaired.
    """
    torch.manual_seed(seed)  # the weights' initialization
    model = CycleGAN(identity_weight=identity_weight, generator_blocks=generator_blocks,
                     generator_width=generator_width, discriminator=discriminator,
                     discriminator_width=discriminator_width, image_size=size, seed=seed)
    train_a = tint_images(n_train, 3 * seed + 1, size).a
    train_b = tint_images(n_train, 3 * seed + 2, size).b
    test = tint_images(n_test, evaluation_stream(seed), size)
    order = torch.Generator().manual_seed(seed)
    run = TintRun(model)
    # Every thread torch has: unlike the 2-D toys' MLPs, these convolutions gain from a second core
    # (60 steps: 14.3 s on one thread, 9.6 s on two, quiet 2-core AMD EPYC).
    for step in range(1, steps + 1):
        pick_a = torch.randint(n_train, (batch_size,), generator=order)
        pick_b = torch.randint(n_train, (batch_size,), generator=order)  # drawn apart from A: unpaired
        run.losses.append(model.train_step(train_a[pick_a], train_b[pick_b]))
        if step % record_every == 0 or step == steps:
            translated, identity = measure(model, test)
            run.steps.append(step)
            run.shift_translated.append(translated)
            run.shift_identity.append(identity)
    return run


def evaluation_stream(seed: int) -> int:
    """The random stream of the test scenes of the run with `seed` (apart from its training streams)."""
    return 10_000 + seed
