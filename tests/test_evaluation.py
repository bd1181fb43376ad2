"""Metrics against known values, the baseline always beside them, collapse flagged, FID plumbing."""

import math

import pytest
import torch
from torch import nn

from cyclegan_edu.data import downloads
from cyclegan_edu.data.toy_horse2zebra import toy_dataset_root
from cyclegan_edu.evaluation import (
    diversity,
    evaluate_generators,
    fid_kid,
    format_table,
    ground_truth_metrics,
    mean_pairwise_distance,
    paired_scores,
    with_baseline,
)
from cyclegan_edu.inception import FeatureWeightsUnavailable, standard_feature_extractor


def images(seed: int, n: int = 6, size: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_identical_images_score_perfectly():
    x = images(0)
    scores = paired_scores(x, x)
    assert scores["l1"] == 0.0 and scores["ssim"] == pytest.approx(1.0) and math.isinf(scores["psnr"])


def test_a_known_shift_gives_known_scores():
    truth = torch.zeros(2, 3, 8, 8)  # mid grey, 0.5 in pixel units
    shifted = truth + 0.2  # 0.1 brighter in pixel units
    scores = paired_scores(shifted, truth)
    assert scores["l1"] == pytest.approx(0.1, abs=1e-6)
    assert scores["psnr"] == pytest.approx(20.0, abs=1e-3)  # 10 log10(1 / 0.1^2)


def test_the_do_nothing_baseline_is_always_reported():
    inputs, truths = images(1), images(2)
    scores = with_baseline(truths, inputs, truths)
    assert {"psnr", "l1", "ssim", "psnr_identity", "l1_identity", "ssim_identity"} == set(scores)
    assert scores["l1"] == 0.0 and scores["l1_identity"] > 0.1


def test_diversity_is_low_for_a_constant_translator_and_one_for_the_identity():
    x = images(3)
    assert diversity(x, x) == pytest.approx(1.0)
    assert diversity(torch.zeros_like(x), x) == 0.0
    assert diversity(x * 0.1, x) < 0.2


def test_diversity_sees_through_noise_on_a_collapsed_translation():
    """A generator that draws one picture plus fresh high-frequency noise has collapsed all the same:
    pixel by pixel its outputs differ as much as the inputs do, but their layouts do not."""
    generator = torch.Generator().manual_seed(4)
    inputs = nn.functional.interpolate(torch.rand(6, 3, 8, 8, generator=generator) * 2 - 1, size=64)
    one_picture = inputs[0].expand_as(inputs)
    outputs = one_picture + (torch.rand(inputs.shape, generator=generator) - 0.5) * 2
    pixel_spread = mean_pairwise_distance(outputs) / mean_pairwise_distance(inputs)
    assert pixel_spread > 0.5
    assert diversity(outputs, inputs) < 0.2


def test_ground_truth_metrics_on_the_toy_set(toy_env):
    root = toy_dataset_root()
    results = ground_truth_metrics({"AtoB": lambda x: x, "BtoA": lambda x: x}, root, 32)
    for scores in results.values():  # the identity translator equals the do-nothing baseline
        assert scores["psnr"] == pytest.approx(scores["psnr_identity"]) and scores["diversity"] == pytest.approx(1.0)


class TinyFeatures(nn.Module):
    """A stand-in feature extractor for the test: mean colours of 4x4 cells (48 features)."""

    def forward(self, uint8_images: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool2d(uint8_images.float() / 255, 4).flatten(1)


def test_fid_and_kid_through_an_injected_feature_extractor():
    reals = images(4, n=40)
    same = fid_kid(reals, reals, TinyFeatures(), "tiny", kid_subset_size=20)
    shifted = fid_kid((reals + 0.8).clamp(-1, 1), reals, TinyFeatures(), "tiny", kid_subset_size=20)
    assert same["fid"] == pytest.approx(0.0, abs=1e-3)
    assert shifted["fid"] > 0.1 and shifted["kid"] > same["kid"]
    assert same["features"] == "tiny"  # never passed off as the standard Inception FID


def test_missing_inception_weights_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "INCEPTION_MIRRORS", ("http://127.0.0.1:9/nothing",))
    with pytest.raises(FeatureWeightsUnavailable, match="cyclegan-edu download inception-weights"):
        standard_feature_extractor(tmp_path)
    with pytest.raises(FeatureWeightsUnavailable, match="Inception-v3 weights"):
        standard_feature_extractor(tmp_path, download=False)


def test_evaluate_generators_and_its_table(toy_env):
    root = toy_dataset_root()
    results = evaluate_generators({"AtoB": lambda x: torch.zeros_like(x)}, root, 32, features=TinyFeatures(),
                                  feature_name="tiny")
    assert results["AtoB"]["diversity"] == 0.0 and "fid" in results["AtoB"]
    table = format_table(results)
    assert "psnr" in table and "do nothing" in table and "diversity" in table
