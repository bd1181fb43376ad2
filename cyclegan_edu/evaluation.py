"""Measuring translations against ground truth (paper Section 5.1.2, the paired-set metrics).

Where a test image has a known true counterpart (the paper's Cityscapes labels and maps; the
embedded toy dataset's `testA_truth/` and `testB_truth/`), a translation can be scored directly.
Every score is reported beside the "do nothing" baseline, the input itself compared with the truth:
a translator is only useful if it beats that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio
from torchmetrics.functional.regression import mean_absolute_error

from cyclegan_edu.data import find_images, load_rgb, test_transform

Translator = Callable[[torch.Tensor], torch.Tensor]


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] model range -> [0, 1] pixel range, clamped."""
    return ((images + 1) / 2).clamp(0, 1)


def paired_scores(outputs: torch.Tensor, truths: torch.Tensor) -> dict[str, float]:
    """PSNR (dB, per image then averaged) and L1 (mean absolute error) in [0, 1] pixel units."""
    outputs, truths = to_unit_range(outputs), to_unit_range(truths)
    return {"psnr": peak_signal_noise_ratio(outputs, truths, data_range=1.0, reduction="elementwise_mean",
                                            dim=(1, 2, 3)).item(),
            "l1": mean_absolute_error(outputs, truths).item()}


def load_truth_pairs(root: Path, domain: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Test inputs of `domain` ("A" or "B") and their true translations, matched by file name."""
    inputs_dir, truth_dir = root / f"test{domain}", root / f"test{domain}_truth"
    paths = [p for p in find_images(inputs_dir) if (truth_dir / p.relative_to(inputs_dir)).is_file()]
    if not paths:
        raise FileNotFoundError(f"No ground truth: {truth_dir} has no counterparts of the images in {inputs_dir}.")
    inputs = torch.stack([test_transform(load_rgb(p), size) for p in paths])
    truths = torch.stack([test_transform(load_rgb(truth_dir / p.relative_to(inputs_dir)), size) for p in paths])
    return inputs, truths


def has_ground_truth(root: Path | str) -> bool:
    return (Path(root) / "testA_truth").is_dir() and (Path(root) / "testB_truth").is_dir()


@torch.no_grad()
def ground_truth_metrics(translators: dict[str, Translator], root: Path | str, size: int,
                         batch_size: int = 16, device: torch.device | str = "cpu") -> dict[str, dict[str, float]]:
    """Scores per direction, e.g. {"AtoB": {"psnr", "psnr_identity", "l1", "l1_identity"}, "BtoA": ...}.

    `translators` maps "AtoB" and/or "BtoA" to a function of a (N, 3, H, W) batch in [-1, 1].
    The `_identity` scores compare the untouched input with the truth (the do-nothing baseline).
    """
    results = {}
    for direction, translate in translators.items():
        inputs, truths = load_truth_pairs(Path(root), direction[0], size)
        outputs = torch.cat([translate(batch.to(device)).float().cpu() for batch in inputs.split(batch_size)])
        model_scores, baseline_scores = paired_scores(outputs, truths), paired_scores(inputs, truths)
        results[direction] = {**model_scores, **{f"{name}_identity": value for name, value in baseline_scores.items()}}
    return results
