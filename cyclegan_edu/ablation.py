"""The paper's ablation study (Section 5.1.4, Table 4, Figure 7), run on any preset.

Table 4 compares, with identity loss off as in the paper's Cityscapes runs:
    cycle alone, GAN alone, GAN + forward cycle, GAN + backward cycle, and CycleGAN (all of them).
Beyond the table, each of these switches one part of the full model (the authors' code default,
identity loss 0.5 lambda) back to the alternative:
    full, vanilla GAN loss instead of least squares, no history pool, 1x1 PixelGAN and full-image
    discriminators instead of the 70x70 PatchGAN.
Every variant gets the same budget and the same seeds; finished runs are reused and a run stopped
half-way is resumed, so an interrupted study continues where it stopped. The runs go one after another,
or several at once on this machine or a Slurm cluster (`jobs.JobOptions`); the CSV and the table are
rewritten from the finished runs as each one ends.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from cyclegan_edu.config import PLAIN_STEP, Config, ConfigError
from cyclegan_edu.data.image_folders import to_unit_range
from cyclegan_edu.data.toy_horse2zebra import dataset_root
from cyclegan_edu.evaluation import load_test_images
from cyclegan_edu.jobs import JobOptions, run_rows
from cyclegan_edu.official import load_official_generator
from cyclegan_edu.run_folder import RunFolder
from cyclegan_edu.training import resume, train

TABLE4 = dict(identity_weight=0.0)
VARIANTS: dict[str, dict[str, Any]] = {
    "cycle_alone": dict(TABLE4, adversarial=False),
    "gan_alone": dict(TABLE4, forward_cycle=False, backward_cycle=False),
    "gan_forward": dict(TABLE4, backward_cycle=False),
    "gan_backward": dict(TABLE4, forward_cycle=False),
    "cyclegan": dict(TABLE4),
    "full": {},
    "vanilla_gan": dict(gan_loss="vanilla"),
    "no_pool": dict(pool_size=0),
    "pixelgan": dict(discriminator="pixel"),
    "imagegan": dict(discriminator="image"),
}
METRICS = ("psnr", "psnr_identity", "ssim", "l1", "diversity")
FIGURE_IMAGES = 4
# The CPU study: 10 variants x 3 seeds within 30 minutes on 2 cores, so each run gets 400 steps, of the paper's
# batch 1 at its lr with the plain step (as docs/ablation.md was measured, whatever the quick preset's schedule).
BUDGETS: dict[str, dict[str, Any]] = {"quick": dict(n_epochs=1, n_epochs_decay=1, iterations_per_epoch=200,
                                                    batch_size=1, lr=2e-4, **PLAIN_STEP)}


def variant_config(base: Config, variant: str, seed: int) -> Config:
    return dataclasses.replace(base, seed=seed, **VARIANTS[variant]).validate()


def variant_folder(out: Path, variant: str, seed: int) -> RunFolder:
    return RunFolder(out / "runs" / f"{variant}_seed{seed}")


def run_variant(variant_seed: tuple[str, int], base: Config, out: Path, progress: bool) -> dict[str, Any]:
    """Train one variant with one seed (or reuse a finished run) and return its CSV row."""
    variant, seed = variant_seed
    run = variant_folder(out, variant, seed)
    started = time.perf_counter()
    if run.has_checkpoint() and not run.has_metrics():
        resume(run.root, progress=progress)  # a run the study left half-trained when it was stopped
    elif not run.has_metrics():
        train(variant_config(base, variant, seed), run.root, progress=progress)
    metrics = run.read_metrics()
    row: dict[str, Any] = {"variant": variant, "seed": seed}
    for direction in ("AtoB", "BtoA"):
        for name in METRICS:
            if name in metrics.get(direction, {}):
                row[f"{name}_{direction}"] = metrics[direction][name]
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def summarize(rows: list[dict[str, Any]]) -> str:
    """Markdown table: mean and spread (population std over seeds) of each metric per variant."""
    columns = [c for c in rows[0] if c not in ("variant", "seed", "seconds")]
    lines = ["| variant | seeds | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for variant in dict.fromkeys(row["variant"] for row in rows):
        mine = [row for row in rows if row["variant"] == variant]
        cells = []
        for column in columns:
            values = [row[column] for row in mine if column in row]
            spread = statistics.pstdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.fmean(values):.3f} ± {spread:.3f}")
        lines.append(f"| {variant} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@torch.no_grad()
def translations_figure(base: Config, variants: list[str], out: Path) -> Path:
    """One row per variant (seed 0): its A-to-B translations of the same test images."""
    inputs = load_test_images(dataset_root(base.data, base.toy_image_size), "A", base.crop_size)[:FIGURE_IMAGES]
    rows = [("input", inputs)]
    for variant in variants:
        checkpoint = variant_folder(out, variant, base.seed).latest
        rows.append((variant, load_official_generator(checkpoint, direction="AtoB")(inputs)))
    figure = Figure(figsize=(1.6 * len(inputs), 1.6 * len(rows)))
    axes = figure.subplots(len(rows), len(inputs), squeeze=False)
    for row_axes, (name, images) in zip(axes, rows):
        for axis, image in zip(row_axes, to_unit_range(images)):
            axis.imshow(image.permute(1, 2, 0).numpy())
            axis.set_xticks([])
            axis.set_yticks([])
        row_axes[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    figure.tight_layout()
    path = out / "ablation.png"
    figure.savefig(path, dpi=120)
    return path


def write_results(rows: list[dict[str, Any]], out: Path) -> None:
    """ablation.csv (one line per run) and ablation.md (the table) from the runs finished so far."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with (out / "ablation.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    (out / "ablation.md").write_text(summarize(rows) + "\n")


def run_ablation(base: Config, out: Path | str, seeds: int = 3, variants: list[str] | None = None,
                 progress: bool = True, jobs: JobOptions = JobOptions()) -> list[dict[str, Any]]:
    """Train every variant for `seeds` seeds (base.seed, base.seed + 1, ...); write the CSV, table and figure.

    `jobs` runs several at once (see `jobs.run_rows`); the CSV and table then hold the finished runs in the
    study's order while the others are still going."""
    out = Path(out)
    variants = variants or list(VARIANTS)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}.")
    out.mkdir(parents=True, exist_ok=True)
    study = [(variant, base.seed + offset) for variant in variants for offset in range(seeds)]
    finished: dict[int, dict[str, Any]] = {}

    def record(index: int, row: dict[str, Any]) -> None:
        finished[index] = row
        write_results([finished[i] for i in sorted(finished)], out)

    run = partial(run_variant, base=base, out=out, progress=progress and jobs.in_process)
    rows = run_rows(run, study, jobs, out / "jobs", on_result=record)
    translations_figure(base, variants, out)
    return rows
