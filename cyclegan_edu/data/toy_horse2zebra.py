"""A generated, offline "toy horse to zebra" dataset with exact ground truth.

Why a toy dataset?
    The real horse2zebra dataset must be downloaded and is unpaired: for a
    horse photo there is no "correct" zebra photo, so translation quality can
    only be judged by eye or by proxy scores. The CycleGAN paper (Zhu et al.,
    ICCV 2017, Section 5.1) therefore measures quality on datasets that do
    have pairs (Cityscapes labels <-> photos, maps <-> aerial photos): the
    model is still trained without pairs, but its outputs are compared with
    the true counterpart. This module builds a tiny dataset of that kind, in a
    few seconds, with numpy and Pillow only, so that students, tests and CI
    can train CycleGAN with no download and score it against ground truth
    (L1, PSNR, SSIM).

Scene model
    A `Scene` is a handful of numbers drawn from a numpy Generator: the
    horizon height, a sky gradient with a sun, a softly textured meadow, and
    one animal (position, size, facing left or right, leg phase, brown
    shade). The animal is a union of simple shapes: a body ellipse, a neck,
    a head, an ear, a tail and four swinging legs. `render` draws the
    scene with 4x (2x above 64 px) supersampling and box-filters it down, so
    edges are smooth.

    Domain A paints the animal brown with gentle top-lit shading. Domain B
    paints exactly the same silhouette with black and white stripes over the
    exact same background. The stripes are bands of a fixed period (1/8 of
    the image side, 8 px at 64 px) measured down from the animal's top
    outline in every column, so the first band hugs the back, neck and head.
    The stripes are therefore a function of the shape alone, local enough for
    a small network to learn, and the B rendering of an A scene is its exact
    translation, and vice versa.

Layout written by `build_toy_dataset` (same layout as the paper's
datasets, plus truth):

    trainA/ trainB/ testA/ testB/    000000.png, 000001.png, ...
    testA_truth/NAME                 domain-B rendering of testA/NAME's scene
    testB_truth/NAME                 domain-A rendering of testB/NAME's scene
    README.txt

The four splits draw their scenes from four disjoint random streams, so
trainA and trainB are truly unpaired.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cyclegan_edu.data import cache
from cyclegan_edu.errors import UserError, WouldOverwrite

TOY_DATASET_NAME = "toy_horse2zebra"
TOY_DATASET_VERSION = 3  # bump when the pictures change, so caches of older builds are not reused
DOMAINS = ("A", "B")
SPLITS = ("trainA", "trainB", "testA", "testB")
TRUTH_FOLDERS = {"testA": "testA_truth", "testB": "testB_truth"}

Point = tuple[float, float]
RGB = tuple[float, float, float]

# Animal geometry, in units of the body length, x pointing the way the animal
# faces and y pointing down, both measured from the centre of the body.
BODY_HALF_HEIGHT = 0.25
NECK = ((0.32, -0.05), (0.52, -0.42), 0.085)  # start, end, radius
HEAD = ((0.63, -0.40), (0.17, 0.075), math.radians(35))  # centre, semi-axes, tilt
EAR = ((0.52, -0.46), (0.49, -0.56), 0.028)
TAIL = ((-0.47, -0.10), (-0.60, 0.30), 0.032)
LEG_TOP_Y = 0.12
LEG_LENGTH = 0.52
LEG_RADIUS = 0.048
LEG_SWING = math.radians(18)
LEGS = ((0.26, 0.0), (0.37, math.pi), (-0.28, 0.5 * math.pi), (-0.38, 1.5 * math.pi))  # x, phase
# Bounding box of the animal (same units), used to keep it inside the picture:
# the tail reaches back, the head forward, the ear up and the hooves down.
REACH_BACK, REACH_FRONT, REACH_UP = 0.64, 0.78, 0.59
REACH_DOWN = LEG_TOP_Y + LEG_LENGTH + LEG_RADIUS

STRIPE_PERIOD = 1 / 8  # of the image side: 8 px at 64 px
BLACK = np.array([24, 24, 26], dtype=np.float32)
WHITE = np.array([238, 238, 232], dtype=np.float32)
SUN_COLOUR = np.array([255, 236, 150], dtype=np.float32)


class ToyDatasetError(UserError, ValueError):
    """Settings the toy dataset cannot be built or drawn with; the message says which to change."""


@dataclass(frozen=True)
class Scene:
    """Parameters of one picture; positions are fractions of the image side.

    `x`/`y` is the centre of the animal's body, `length` its body length,
    `facing` +1 (right) or -1 (left), `coat` the brown of domain A.
    """

    horizon: float
    sky_top: RGB
    sky_bottom: RGB
    grass: RGB
    grass_phase: Point
    sun: tuple[float, float, float]  # x, y, radius
    x: float
    y: float
    length: float
    facing: int
    leg_phase: float
    coat: RGB


def random_colour(rng: np.random.Generator, low: RGB, high: RGB) -> RGB:
    """Draw an RGB colour channel-wise uniformly between `low` and `high`."""
    r, g, b = rng.uniform(low, high)
    return (float(r), float(g), float(b))


def random_brown(rng: np.random.Generator) -> RGB:
    """Draw a horse-brown coat colour, from chestnut to bay."""
    red = rng.uniform(105.0, 170.0)
    return (float(red), float(red * rng.uniform(0.52, 0.66)), float(red * rng.uniform(0.28, 0.40)))


def random_sun(rng: np.random.Generator, horizon: float) -> tuple[float, float, float]:
    """Draw a sun (x, y, radius) that stays well above the horizon."""
    return (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.06, horizon - 0.1)), float(rng.uniform(0.04, 0.07)))


def sample_scene(rng: np.random.Generator) -> Scene:
    """Draw one random scene whose animal stands on the grass, fully in view."""
    horizon = float(rng.uniform(0.30, 0.48))
    length = float(rng.uniform(0.48, 0.62))
    facing = int(rng.choice((-1, 1)))
    left, right = (REACH_BACK, REACH_FRONT) if facing > 0 else (REACH_FRONT, REACH_BACK)
    x = float(rng.uniform(0.03 + left * length, 0.97 - right * length))
    low_y = max(horizon + 0.12 - REACH_DOWN * length, 0.03 + REACH_UP * length)
    y = float(rng.uniform(low_y, 0.97 - REACH_DOWN * length))
    return Scene(
        horizon=horizon,
        sky_top=random_colour(rng, (40, 95, 180), (90, 150, 235)),
        sky_bottom=random_colour(rng, (130, 180, 225), (175, 215, 250)),
        grass=random_colour(rng, (55, 120, 35), (100, 165, 70)),
        grass_phase=(float(rng.uniform(0, 1)), float(rng.uniform(0, 1))),
        sun=random_sun(rng, horizon),
        x=x,
        y=y,
        length=length,
        facing=facing,
        leg_phase=float(rng.uniform(0, 2 * math.pi)),
        coat=random_brown(rng),
    )


def scenes_for_split(seed: int, split: str, count: int) -> list[Scene]:
    """The scenes of `split` (one of `SPLITS`), in file order.

    Each split has its own random stream `default_rng([seed, split index])`,
    so the scene of e.g. `testA/000007.png` is `scenes_for_split(seed,
    "testA", n)[7]`.
    """
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    return [sample_scene(rng) for _ in range(count)]


def supersampling_factor(size: int) -> int:
    """Supersampling factor: 4x for small images, 2x above 64 px."""
    return 4 if size <= 64 else 2


def pixel_coords(size: int) -> np.ndarray:
    """Centres of the supersampled pixels along one side, as fractions of the side.

    The image is square, so the same vector serves for x (columns) and y (rows).
    """
    n = size * supersampling_factor(size)
    return ((np.arange(n) + 0.5) / n).astype(np.float32)


def window_slice(coords: np.ndarray, low: float, high: float) -> slice:
    """Index range of the sorted `coords` that lie within [low, high]."""
    start, stop = np.searchsorted(coords, (low, high))
    return slice(int(start), int(stop))


def fill_ellipse(mask: np.ndarray, coords: np.ndarray, centre: Point, axes: Point, angle: float) -> None:
    """Set `mask` inside an ellipse rotated by `angle` (radians, y pointing down)."""
    reach = max(axes)
    rows = window_slice(coords, centre[1] - reach, centre[1] + reach)
    cols = window_slice(coords, centre[0] - reach, centre[0] + reach)
    dx, dy = coords[None, cols] - centre[0], coords[rows, None] - centre[1]
    cos, sin = math.cos(angle), math.sin(angle)
    u = (dx * cos + dy * sin) / axes[0]
    w = (dy * cos - dx * sin) / axes[1]
    mask[rows, cols] |= u * u + w * w <= 1.0


def fill_capsule(mask: np.ndarray, coords: np.ndarray, start: Point, end: Point, radius: float) -> None:
    """Set `mask` at the points closer than `radius` to the segment start-end."""
    rows = window_slice(coords, min(start[1], end[1]) - radius, max(start[1], end[1]) + radius)
    cols = window_slice(coords, min(start[0], end[0]) - radius, max(start[0], end[0]) + radius)
    dx, dy = coords[None, cols] - start[0], coords[rows, None] - start[1]
    vx, vy = end[0] - start[0], end[1] - start[1]
    t = np.clip((dx * vx + dy * vy) / (vx * vx + vy * vy), 0.0, 1.0)
    mask[rows, cols] |= (dx - t * vx) ** 2 + (dy - t * vy) ** 2 <= radius * radius


def to_image_coords(scene: Scene, point: Point) -> Point:
    """Map a point from animal coordinates to image fractions."""
    return (scene.x + scene.facing * scene.length * point[0], scene.y + scene.length * point[1])


def leg_segments(scene: Scene) -> list[tuple[Point, Point]]:
    """Top and hoof of each leg in animal coordinates, swung by the leg phase."""
    segments = []
    for x, phase in LEGS:
        swing = LEG_SWING * math.sin(scene.leg_phase + phase)
        hoof = (x + LEG_LENGTH * math.sin(swing), LEG_TOP_Y + LEG_LENGTH * math.cos(swing))
        segments.append(((x, LEG_TOP_Y), hoof))
    return segments


def animal_parts(scene: Scene, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the animal's trunk (body, neck, head, ear, tail) and of its legs."""
    size = scene.length
    trunk = np.zeros((coords.size, coords.size), dtype=bool)
    fill_ellipse(trunk, coords, (scene.x, scene.y), (0.5 * size, BODY_HALF_HEIGHT * size), 0.0)
    for start, end, radius in (NECK, EAR, TAIL):
        fill_capsule(trunk, coords, to_image_coords(scene, start), to_image_coords(scene, end), radius * size)
    centre, axes, tilt = HEAD
    fill_ellipse(trunk, coords, to_image_coords(scene, centre), (axes[0] * size, axes[1] * size), scene.facing * tilt)
    legs = np.zeros_like(trunk)
    for top, hoof in leg_segments(scene):
        fill_capsule(legs, coords, to_image_coords(scene, top), to_image_coords(scene, hoof), LEG_RADIUS * size)
    return trunk, legs


def background(scene: Scene, coords: np.ndarray) -> np.ndarray:
    """Sky gradient with a sun above the horizon, textured grass below (float32 RGB)."""
    n = coords.size
    horizon_row = int(np.searchsorted(coords, scene.horizon))
    pixels = np.empty((n, n, 3), dtype=np.float32)
    height = coords[:horizon_row, None] / scene.horizon
    sky = (1.0 - height) * np.array(scene.sky_top) + height * np.array(scene.sky_bottom)
    pixels[:horizon_row] = sky[:, None, :]
    sun = np.zeros((n, n), dtype=bool)
    fill_ellipse(sun, coords, scene.sun[:2], (scene.sun[2], scene.sun[2]), 0.0)
    pixels[sun] = SUN_COLOUR
    depth = (coords[horizon_row:, None] - scene.horizon) / (1.0 - scene.horizon)
    phase_x, phase_y = scene.grass_phase
    ripples = np.sin(2 * math.pi * (3.0 * coords[None, :] + phase_x))
    rows = np.sin(2 * math.pi * (2.0 / (depth + 0.3) + phase_y))  # bands that narrow towards the horizon
    shade = 1.08 - 0.22 * depth + 0.06 * ripples * rows
    pixels[horizon_row:] = shade[..., None] * np.array(scene.grass, dtype=np.float32)
    return pixels


def brown_coat(scene: Scene, coords: np.ndarray) -> np.ndarray:
    """Domain A: the brown coat, lit from above (float RGB, one value per row)."""
    shade = np.clip(1.1 - 0.35 * (coords[:, None] - scene.y) / scene.length, 0.8, 1.25)
    return shade[..., None] * np.array(scene.coat, dtype=np.float32)


def striped_coat(coords: np.ndarray, animal: np.ndarray) -> np.ndarray:
    """Domain B: black and white bands measured down from the animal's back (float RGB).

    In every column the first band starts at the animal's top outline, so the colour of a
    pixel depends only on its height below the outline just above it: a rule a convolutional
    network and a PatchGAN can both see within their receptive fields.
    """
    top = coords[np.argmax(animal, axis=0)]  # per column, the highest animal pixel
    black = np.mod((coords[:, None] - top[None, :]) / STRIPE_PERIOD, 1.0) < 0.5
    return np.where(black[..., None], BLACK, WHITE)


def downsample(pixels: np.ndarray, size: int) -> Image.Image:
    """Box-filter a supersampled float RGB array down to a `size` px image."""
    image = Image.fromarray(np.rint(pixels).clip(0, 255).astype(np.uint8))
    return image.resize((size, size), Image.Resampling.BOX)


def render(scene: Scene, domain: str, size: int) -> Image.Image:
    """Draw `scene` as a `size` x `size` RGB image of `domain` "A" (horse) or "B" (zebra)."""
    if domain not in DOMAINS:
        raise ToyDatasetError(f"domain must be 'A' (horse) or 'B' (zebra), got {domain!r}.")
    coords = pixel_coords(size)
    trunk, legs = animal_parts(scene, coords)
    animal = trunk | legs
    coat = brown_coat(scene, coords) if domain == "A" else striped_coat(coords, animal)
    pixels = background(scene, coords)
    pixels[animal] = np.broadcast_to(coat, pixels.shape)[animal]
    return downsample(pixels, size)


def animal_mask(scene: Scene, size: int) -> np.ndarray:
    """Share of each pixel covered by the animal, a float32 `size` x `size` array in [0, 1].

    Useful to score a translation on the animal only, or on the background only.
    """
    trunk, legs = animal_parts(scene, pixel_coords(size))
    mask = Image.fromarray((trunk | legs).astype(np.float32))
    return np.array(mask.resize((size, size), Image.Resampling.BOX))


@dataclass(frozen=True)
class ToySettings:
    """What a dataset is built from; equal settings give byte-identical datasets."""

    seed: int
    size: int
    n_train: int
    n_test: int

    def check(self) -> None:
        """Raise `ToyDatasetError` (a `ValueError`) for settings the dataset cannot be built with."""
        if self.size < 32 or self.size % 4:
            raise ToyDatasetError(f"size={self.size} must be a multiple of 4 and at least 32 (e.g. 32 or 64).")
        if self.seed < 0:
            raise ToyDatasetError(f"seed={self.seed} must be non-negative (e.g. 0).")
        if self.n_train < 1 or self.n_test < 1:
            raise ToyDatasetError(
                f"n_train={self.n_train} and n_test={self.n_test} must both be at least 1 (e.g. 400 and 50)."
            )

    def folder_counts(self) -> dict[str, int]:
        """Number of PNG files in every folder of the dataset."""
        counts = {"trainA": self.n_train, "trainB": self.n_train, "testA": self.n_test, "testB": self.n_test}
        counts.update({truth: self.n_test for truth in TRUTH_FOLDERS.values()})
        return counts

    def readme(self) -> str:
        """The README.txt of the dataset; it doubles as the record of its settings."""
        return f"""{TOY_DATASET_NAME}: a generated toy horse -> zebra dataset for CycleGAN (cyclegan_edu)

Sky-and-grass scenes with one animal each. Domain A: brown "horses".
Domain B: the same kind of animal painted with black and white stripes
("zebras"). The stripes are a fixed function of the animal's shape, so every
test image has an exact ground-truth translation.

version: {TOY_DATASET_VERSION}
seed: {self.seed}
size: {self.size} x {self.size} px, RGB PNG
trainA: {self.n_train} images, trainB: {self.n_train} images (unpaired: disjoint random scenes)
testA: {self.n_test} images, testB: {self.n_test} images
testA_truth/NAME: the domain-B rendering of the scene of testA/NAME
testB_truth/NAME: the domain-A rendering of the scene of testB/NAME

Rebuild: python data_scripts/make_toy_dataset.py --out DIR --seed {self.seed} --size {self.size} \\
    --n-train {self.n_train} --n-test {self.n_test}
Licence: generated content, CC0 1.0 (public domain dedication).
"""


def is_complete_dataset(root: Path, settings: ToySettings) -> bool:
    """Whether `root` holds the complete dataset built from `settings`."""
    readme = root / "README.txt"
    if not readme.is_file() or readme.read_text(encoding="utf-8") != settings.readme():
        return False
    counts = settings.folder_counts()
    return all(len(list((root / folder).glob("*.png"))) == n for folder, n in counts.items())


def reuse_existing(out: Path, settings: ToySettings) -> bool:
    """True if `out` already holds this dataset; False if it is free to write.

    Raises `WouldOverwrite` (a `FileExistsError`) when `out` holds something else.
    """
    if not out.exists():
        return False
    if not out.is_dir():
        raise WouldOverwrite(f"{out} exists and is not a folder; move it away or choose another folder.")
    if not any(out.iterdir()):
        return False
    if is_complete_dataset(out, settings):
        return True
    readme = out / "README.txt"
    if readme.is_file() and readme.read_text(encoding="utf-8").startswith(TOY_DATASET_NAME):
        raise WouldOverwrite(f"{out} holds a toy dataset with other settings; delete it or choose another folder.")
    raise WouldOverwrite(
        f"{out} is not empty and is not a complete toy dataset, so nothing is written into it; "
        "empty it or choose another folder."
    )


def save_png(image: Image.Image, path: Path) -> None:
    """Save a PNG with fixed options and no metadata, so builds are byte-identical."""
    image.save(path, format="PNG", compress_level=6)


def write_dataset(root: Path, settings: ToySettings) -> None:
    """Render every split, the test truth and the README into the empty folder `root`."""
    for folder in settings.folder_counts():
        (root / folder).mkdir()
    for split in SPLITS:
        domain = split[-1]
        other = "B" if domain == "A" else "A"
        count = settings.n_train if split.startswith("train") else settings.n_test
        for index, scene in enumerate(scenes_for_split(settings.seed, split, count)):
            name = f"{index:06d}.png"
            save_png(render(scene, domain, settings.size), root / split / name)
            if split in TRUTH_FOLDERS:
                save_png(render(scene, other, settings.size), root / TRUTH_FOLDERS[split] / name)
    (root / "README.txt").write_text(settings.readme(), encoding="utf-8")


def move_into_place(staging: Path, out: Path, settings: ToySettings) -> None:
    """Atomically rename `staging` to `out`; accept a concurrent builder's identical result."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    try:
        os.replace(staging, out)
    except OSError:
        if not is_complete_dataset(out, settings):
            raise


def build_toy_dataset(
    out: Path | str, *, seed: int = 0, size: int = 64, n_train: int = 400, n_test: int = 50
) -> Path:
    """Generate the toy horse -> zebra dataset into `out` and return `out`.

    The dataset is rendered into a temporary folder next to `out` and renamed
    into place only when complete. If `out` already holds the same dataset it
    is returned untouched; if it holds anything else, `WouldOverwrite` (a
    `FileExistsError`) is raised. `ToyDatasetError` (a `ValueError`) for a
    `size` that is not a multiple of 4 and at least 32, a negative seed, or
    empty splits. The same settings always give byte-identical files.
    """
    settings = ToySettings(seed, size, n_train, n_test)
    settings.check()
    out = Path(out).expanduser()
    if reuse_existing(out, settings):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        write_dataset(staging, settings)
        move_into_place(staging, out, settings)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def toy_dataset_root(*, seed: int = 0, size: int = 64, cache_dir: Path | str | None = None) -> Path:
    """Folder of the toy dataset for `seed` and `size`, built on first use.

    It lives in `cache_dir` (default: `cache.cache_dir()`) under
    `toy_horse2zebra_v{version}_seed{seed}_{size}px` with the default counts. Safe to
    call from several processes at once.
    """
    base = Path(cache_dir).expanduser() if cache_dir is not None else cache.cache_dir()
    folder = base / f"{TOY_DATASET_NAME}_v{TOY_DATASET_VERSION}_seed{seed}_{size}px"
    return build_toy_dataset(folder, seed=seed, size=size)


def dataset_root(folder: str, toy_image_size: int) -> Path:
    """The dataset folder `folder`, or for "" this toy dataset at that size (built on first use)."""
    return Path(folder) if folder else toy_dataset_root(size=toy_image_size)
