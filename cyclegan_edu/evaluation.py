"""Measuring translations (paper Section 5.1.1, the evaluation metrics, and 5.1.4, the ablation study).

Paired metrics: where a test image has a known true counterpart (the paper's Cityscapes labels and
maps; the embedded toy dataset's `testA_truth/` and `testB_truth/`), a translation is scored against
it with L1, PSNR and SSIM (torchmetrics). Every score is reported beside the "do nothing" baseline,
the input itself compared with the truth: a translator is only useful if it beats that.

Collapse: the paper's failed variants (GAN alone, GAN + one cycle) map many inputs to nearly the
same output. `diversity` compares the spread of the translations with the spread of the inputs,
both seen as 8x8 grids of mean colours (their layout), so that high-frequency artifacts, which differ
from one output to the next even when a collapsed generator draws the same picture, do not count.

Distribution metrics: FID and KID between translations and real target-domain images, with the
standard Inception-v3 weights only (torchmetrics over torch-fidelity), so the numbers are
comparable with the literature; without those weights no FID is reported at all.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
from torchmetrics.functional.regression import mean_absolute_error

from cyclegan_edu.config import Config
from cyclegan_edu.data.image_folders import DataError, find_images, load_rgb, test_transform, to_unit_range
from cyclegan_edu.data.toy_horse2zebra import dataset_root
from cyclegan_edu.errors import InputNotFound, load_tensors
from cyclegan_edu.official import is_training_checkpoint, load_official_generator
from cyclegan_edu.run_folder import RunFolder

Translator = Callable[[torch.Tensor], torch.Tensor]
LAYOUT_GRID = 8  # cells per side of the picture `diversity` compares
STANDARD_FEATURES = "inception-v3-compat (torch-fidelity, 2048-d pool features)"


def paired_scores(outputs: torch.Tensor, truths: torch.Tensor) -> dict[str, float]:
    """PSNR (dB) and SSIM per image then averaged, and L1 (mean absolute error), in [0, 1] pixel units.

    Both arguments are (N, 3, H, W) batches in the model's [-1, 1] range.
    """
    outputs, truths = to_unit_range(outputs.float()), to_unit_range(truths.float())
    return {"psnr": peak_signal_noise_ratio(outputs, truths, data_range=1.0, reduction="elementwise_mean",
                                            dim=(1, 2, 3)).item(),
            "l1": mean_absolute_error(outputs, truths).item(),
            "ssim": structural_similarity_index_measure(outputs, truths, data_range=1.0).item()}


def with_baseline(outputs: torch.Tensor, inputs: torch.Tensor, truths: torch.Tensor) -> dict[str, float]:
    """Scores of the translations, and as `NAME_identity` the scores of doing nothing."""
    baseline = {f"{name}_identity": value for name, value in paired_scores(inputs, truths).items()}
    return {**paired_scores(outputs, truths), **baseline}


def mean_pairwise_distance(images: torch.Tensor) -> float:
    """Mean L1 distance per pixel between every two images of a batch (N >= 2)."""
    flat = images.float().flatten(1)
    distances = torch.cdist(flat, flat, p=1) / flat.shape[1]
    n = len(flat)
    return float(distances.sum() / (n * (n - 1)))


def layout(images: torch.Tensor) -> torch.Tensor:
    """Images as LAYOUT_GRID x LAYOUT_GRID grids of mean colours: where things are, not their texture."""
    return nn.functional.adaptive_avg_pool2d(images.float(), LAYOUT_GRID)


def diversity(outputs: torch.Tensor, inputs: torch.Tensor) -> float:
    """Spread of the translations' layouts relative to the spread of their inputs' layouts.

    About 1 for a translator that keeps inputs apart (the identity scores exactly 1), near 0 for a
    collapsed one that maps every input to the same picture, whatever noise it adds on top.
    """
    if len(inputs) < 2:
        raise ValueError("diversity needs at least two images.")
    return mean_pairwise_distance(layout(outputs)) / mean_pairwise_distance(layout(inputs))


def decoded(paths: list[Path], size: int) -> dict[Path, torch.Tensor]:
    """Each image that decodes, at size x size; the others are left out with one warning (a broken file
    among the test images must not lose the scores of a finished run)."""
    images, unreadable = {}, []
    for path in paths:
        try:
            images[path] = test_transform(load_rgb(path), size)
        except DataError:
            unreadable.append(path)
    if unreadable:
        warnings.warn(f"Scored without {len(unreadable)} unreadable image(s): {', '.join(map(str, unreadable))}",
                      stacklevel=3)
    return images


def load_truth_pairs(root: Path, domain: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Test inputs of `domain` ("A" or "B") and their true translations, matched by file name."""
    inputs_dir, truth_dir = root / f"test{domain}", root / f"test{domain}_truth"
    pairs = {p: truth_dir / p.relative_to(inputs_dir) for p in find_images(inputs_dir)}
    inputs = decoded([p for p, truth in pairs.items() if truth.is_file()], size)
    truths = decoded([pairs[p] for p in inputs], size)
    kept = [p for p in inputs if pairs[p] in truths]
    if not kept:
        raise InputNotFound(f"No ground truth: {truth_dir} has no readable counterparts of the images in {inputs_dir}.")
    return torch.stack([inputs[p] for p in kept]), torch.stack([truths[pairs[p]] for p in kept])


def load_test_images(root: Path, domain: str, size: int) -> torch.Tensor:
    """Every readable test image of `domain` ("A" or "B"), (N, 3, size, size) in [-1, 1]."""
    images = decoded(find_images(root / f"test{domain}"), size)
    if not images:
        raise InputNotFound(f"No readable test images in {root / f'test{domain}'}.")
    return torch.stack(list(images.values()))


def spread_scores(outputs: torch.Tensor, inputs: torch.Tensor) -> dict[str, float]:
    """{"diversity": ...} where there are two test images or more to compare; nothing with one."""
    return {"diversity": diversity(outputs, inputs)} if len(inputs) >= 2 else {}


def has_ground_truth(root: Path | str) -> bool:
    return (Path(root) / "testA_truth").is_dir() and (Path(root) / "testB_truth").is_dir()


@torch.no_grad()
def translate_all(translate: Translator, images: torch.Tensor, batch_size: int = 16,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.cat([translate(batch.to(device)).float().cpu().contiguous() for batch in images.split(batch_size)])


def ground_truth_metrics(translators: dict[str, Translator], root: Path | str, size: int,
                         batch_size: int = 16, device: torch.device | str = "cpu") -> dict[str, dict[str, float]]:
    """Scores per direction, e.g. {"AtoB": {"psnr", "psnr_identity", "l1", "l1_identity", ...}, "BtoA": ...}.

    `translators` maps "AtoB" and/or "BtoA" to a function of a (N, 3, H, W) batch in [-1, 1].
    The `_identity` scores compare the untouched input with the truth (the do-nothing baseline);
    `diversity` flags collapse.
    """
    results = {}
    for direction, translate in translators.items():
        inputs, truths = load_truth_pairs(Path(root), direction[0], size)
        outputs = translate_all(translate, inputs, batch_size, device)
        results[direction] = {**with_baseline(outputs, inputs, truths), **spread_scores(outputs, inputs)}
    return results


@torch.no_grad()
def fid_kid(fakes: torch.Tensor, reals: torch.Tensor, features: nn.Module, feature_name: str = STANDARD_FEATURES,
            kid_subset_size: int = 1000) -> dict[str, float | str]:
    """FID and KID (mean and std over subsets) between two sets of [-1, 1] images.

    `features` maps uint8 images (N, 3, H, W) to (N, D) features: `standard_feature_extractor()`
    for numbers comparable with the literature; anything else is recorded by `feature_name`.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    def as_uint8(images: torch.Tensor) -> torch.Tensor:
        return (to_unit_range(images) * 255).round().to(torch.uint8)

    subset = min(kid_subset_size, len(fakes), len(reals))
    fid = FrechetInceptionDistance(feature=features, reset_real_features=True)
    kid = KernelInceptionDistance(feature=features, subset_size=subset)
    for metric in (fid, kid):
        metric.update(as_uint8(reals), real=True)
        metric.update(as_uint8(fakes), real=False)
    kid_mean, kid_std = kid.compute()
    return {"fid": fid.compute().item(), "kid": kid_mean.item(), "kid_std": kid_std.item(), "features": feature_name}


def evaluate_generators(translators: dict[str, Translator], root: Path | str, size: int,
                        features: nn.Module | None = None, feature_name: str = STANDARD_FEATURES,
                        device: torch.device | str = "cpu") -> dict[str, dict[str, float | str]]:
    """Everything that fits the data, per direction: paired metrics where there is ground truth,
    diversity always, FID/KID against the real target-domain test images when `features` is given."""
    root = Path(root)
    results = ground_truth_metrics(translators, root, size, device=device) if has_ground_truth(root) else {}
    for direction, translate in translators.items():
        scores = results.setdefault(direction, {})
        if features is None and "psnr" in scores:
            continue  # ground_truth_metrics has translated and scored this direction already
        source, target = direction[0], direction[-1]
        inputs = load_test_images(root, source, size)
        outputs = translate_all(translate, inputs, device=device)
        scores.update(spread_scores(outputs, inputs))
        if features is not None:
            scores.update(fid_kid(outputs, load_test_images(root, target, size), features, feature_name))
    return results


def evaluate_checkpoint(target: Path | str, data: Path | str | None = None, size: int | None = None,
                        features: nn.Module | None = None,
                        device: torch.device | str = "cpu") -> dict[str, dict[str, float | str]]:
    """`evaluate_generators` on the generators a file holds, loaded as saved.

    `target`: a run folder or its `latest.pt` (both directions), or one official generator `.pth`
    (AtoB only). `data` defaults to the run's own dataset and `size` to its crop size (256 for an
    official file, which records neither).
    """
    target = Path(target)
    checkpoint = RunFolder(target).latest if target.is_dir() else target
    if not checkpoint.is_file():
        raise InputNotFound(f"No checkpoint at {checkpoint}: give a run folder or a .pt/.pth file.")
    state = load_tensors(checkpoint)
    config = Config.from_dict(state["config"]) if "config" in state else None
    if data is None and config is None:
        raise InputNotFound(f"{checkpoint} records no dataset: name one with --data DIR (testA/ and testB/).")
    root = Path(data) if data is not None else dataset_root(config.data, config.toy_image_size)
    size = size or (config.crop_size if config else 256)
    directions = ("AtoB", "BtoA") if is_training_checkpoint(state) else ("AtoB",)
    translators = {d: load_official_generator(checkpoint, device=device, direction=d, loaded=state) for d in directions}
    return evaluate_generators(translators, root, size, features=features, device=device)


def format_table(results: dict[str, dict[str, float | str]]) -> str:
    """A plain-text table: one row per metric, translation beside the do-nothing baseline."""
    lines = [f"{'direction':<10}{'metric':<12}{'model':>12}{'do nothing':>12}"]
    for direction, name, value, baseline in table_rows(results):
        baseline_text = f"{'':>12}" if baseline is None else f"{baseline:>12.4f}"
        lines.append(f"{direction:<10}{name:<12}{value:>12.4f}{baseline_text}")
    return "\n".join(lines)


def table_rows(results: dict[str, dict[str, float | str]]) -> list[tuple[str, str, float, float | None]]:
    """(direction, metric, model, do nothing) for each numeric metric; the baseline is None where there is none."""
    rows = []
    for direction, scores in results.items():
        for name, value in scores.items():
            if name.endswith("_identity") or isinstance(value, str):
                continue
            baseline = scores.get(f"{name}_identity")
            rows.append((direction, name, value, baseline if isinstance(baseline, float) else None))
    return rows


@dataclass(frozen=True)
class MetricsTable:
    """`format_table` for a notebook: displayed as an HTML table, printed (and saved as text/plain) as text."""

    results: dict[str, dict[str, float | str]]

    def __str__(self) -> str:
        return format_table(self.results)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        cells = "".join(f"<tr><td>{escape(direction)}</td><td>{escape(name)}</td><td>{value:.4f}</td>"
                        f"<td>{'' if baseline is None else f'{baseline:.4f}'}</td></tr>"
                        for direction, name, value, baseline in table_rows(self.results))
        return ("<table><tr><th>direction</th><th>metric</th><th>model</th><th>do nothing</th></tr>"
                f"{cells}</table>")


def metrics_table(results: dict[str, dict[str, float | str]]) -> MetricsTable:
    """The metrics of `evaluate_generators` as a table a notebook displays as HTML (`format_table`'s rows)."""
    return MetricsTable(results)
