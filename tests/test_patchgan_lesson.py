"""Notebook 06's reading of D_Y's patch map against paired truth (cyclegan_edu.course.patch_maps)."""

import pytest
import torch
from torch import nn

from cyclegan_edu.course import patch_maps
from cyclegan_edu.patchgan import build_discriminator, receptive_field


def test_changed_pixels_marks_where_the_pair_differs_beyond_the_tolerance():
    image = torch.zeros(2, 3, 8, 8)
    truth = image.clone()
    truth[0, 1, 2:4, 5:7] = 0.5  # one channel of a 2 x 2 square differs clearly
    truth[1, :, 0, 0] = 0.05  # below the tolerance
    mask = patch_maps.changed_pixels(image, truth, tolerance=0.1)
    assert mask.shape == (2, 1, 8, 8)
    assert mask[0, 0, 2:4, 5:7].eq(1).all() and mask.sum() == 4


@pytest.mark.parametrize("kind, expected", [("patch70", (70, 8, 23)), ("patch16", (16, 2, 5)), ("pixel", (1, 1, 0))])
def test_field_geometry_of_the_package_discriminators(kind, expected):
    network = build_discriminator(kind, width=4, image_size=64)
    assert patch_maps.field_geometry(network) == expected
    assert patch_maps.field_geometry(network)[0] == receptive_field(network)


@pytest.mark.parametrize("kind, size", [("patch16", 64), ("patch70", 64), ("patch70", 256), ("pixel", 32)])
def test_patch_coverage_is_laid_out_like_the_score_map(kind, size):
    network = build_discriminator(kind, width=4, image_size=size)
    with torch.no_grad():
        scores = network(torch.zeros(1, 3, size, size))
    coverage = patch_maps.patch_coverage(torch.ones(1, 1, size, size), network)
    assert coverage.shape == scores.shape
    assert 0 < float(coverage.min()) <= float(coverage.max()) <= 1  # fields overhanging the image: below 1
    if receptive_field(network) < size - 2 * patch_maps.field_geometry(network)[2]:
        assert float(coverage.max()) == pytest.approx(1.0)  # a field inside the image is all covered


@pytest.mark.parametrize("kind", ["patch16", "patch70"])
def test_one_pixel_is_covered_exactly_by_the_scores_that_depend_on_it(kind):
    size, row, col = 64, 37, 20
    torch.manual_seed(0)
    network = build_discriminator(kind, width=4, image_size=size)
    convolutions_only = nn.Sequential(*[m for m in network if isinstance(m, nn.Conv2d)])  # no norm: local
    with torch.no_grad():  # positive weights: a nudge cannot cancel out on its way to a score that sees it
        for convolution in convolutions_only:
            convolution.weight.abs_()
    mask = torch.zeros(1, 1, size, size)
    mask[0, 0, row, col] = 1
    covered = patch_maps.patch_coverage(mask, network)[0, 0] > 0  # (h, w)
    image = torch.randn(1, 3, size, size)
    nudged = image.clone()
    nudged[0, :, row, col] += 100.0
    with torch.no_grad():  # the convolutions are linear: a score changes iff its field holds the pixel
        depends = (convolutions_only(nudged) - convolutions_only(image))[0, 0] > 1e-3  # (h, w)
    assert torch.equal(covered, depends)


def test_region_means_split_the_patches_by_coverage():
    scores = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    coverage = torch.tensor([[[[1.0, 0.6], [0.2, 0.0]]]])  # two mostly on, one partly, one not at all
    assert patch_maps.region_means(scores, coverage) == (pytest.approx(1.5), pytest.approx(4.0))
    with pytest.raises(ValueError, match="one shape"):
        patch_maps.region_means(scores, coverage[..., :1])
