"""The networks pinned to the paper's numbers (Appendix 7.2) and the authors' code."""

import pytest
import torch
from torch import nn

from cyclegan_edu.generator import ResnetGenerator, count_parameters, init_weights
from cyclegan_edu.patchgan import (
    DISCRIMINATOR_KINDS,
    PatchDiscriminator,
    PixelDiscriminator,
    build_discriminator,
    full_image_layers,
    receptive_field,
)


def test_generator_has_the_papers_parameter_count():
    assert count_parameters(ResnetGenerator(n_blocks=9, width=64)) == 11_378_179


def test_six_block_generator_is_smaller_by_three_blocks():
    one_block = 2 * (256 * 256 * 9 + 256)  # two 3x3 convs of 256 channels with biases
    assert count_parameters(ResnetGenerator(9)) - count_parameters(ResnetGenerator(6)) == 3 * one_block


@pytest.mark.parametrize("size", [32, 64, 68])
def test_generator_keeps_the_size_of_multiples_of_four(size):
    output = ResnetGenerator(n_blocks=2, width=8)(torch.randn(2, 3, size, size))
    assert output.shape == (2, 3, size, size)
    assert output.abs().max() <= 1.0  # Tanh head


def test_generator_uses_reflection_padding_and_stateless_instance_norm():
    generator = ResnetGenerator(n_blocks=2, width=8)
    norms = [m for m in generator.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(not n.affine and not n.track_running_stats for n in norms)
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in generator.modules()) == 2 + 2 * 2
    assert not any(isinstance(m, (nn.Dropout, nn.BatchNorm2d)) for m in generator.modules())


def test_generator_layers_sit_at_the_official_indices():
    keys = ResnetGenerator(9, 64).state_dict().keys()
    convs = sorted({int(k.split(".")[1]) for k in keys if k.startswith("model.") and "conv_block" not in k})
    assert convs == [1, 4, 7, 19, 22, 26]
    assert {int(k.split(".")[1]) for k in keys if "conv_block" in k} == set(range(10, 19))
    assert "model.10.conv_block.1.weight" in keys and "model.18.conv_block.5.bias" in keys


def test_residual_block_has_no_relu_after_the_sum():
    generator = ResnetGenerator(n_blocks=1, width=4)
    block = generator.model[10]
    x = -torch.ones(1, 16, 8, 8) * 5  # strongly negative input
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()  # conv_block(x) = 0 after instance norm, so block(x) must equal x
    assert torch.equal(block(x), x)


def test_patchgan_has_the_papers_parameter_count_and_map_size():
    discriminator = PatchDiscriminator(n_layers=3, width=64)
    assert count_parameters(discriminator) == 2_764_737
    assert discriminator(torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert discriminator(torch.randn(1, 3, 128, 128)).shape == (1, 1, 14, 14)


def test_patchgan_first_layer_has_no_norm_and_output_has_no_sigmoid():
    layers = list(PatchDiscriminator(3, 8))
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert layers[1].negative_slope == 0.2
    assert isinstance(layers[-1], nn.Conv2d) and layers[-1].out_channels == 1


@pytest.mark.parametrize("kind, field", [("patch70", 70), ("patch16", 16), ("pixel", 1)])
def test_receptive_fields(kind, field):
    assert receptive_field(build_discriminator(kind, width=8)) == field


def test_receptive_field_by_brute_force():
    """The input columns that one score's gradient reaches span 70 pixels.

    Instance norm couples every pixel through its mean, so it is swapped for identity here."""
    discriminator = init_weights(PatchDiscriminator(3, 4)).double()
    for index, layer in enumerate(discriminator):
        if isinstance(layer, nn.InstanceNorm2d):
            discriminator[index] = nn.Identity()
    image = torch.randn(1, 3, 140, 140, dtype=torch.float64, requires_grad=True)
    score = discriminator(image)[0, 0, 8, 8]
    score.backward()
    columns = image.grad.abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    assert int(columns.max() - columns.min() + 1) == 70


def test_full_image_discriminator_sees_the_whole_image():
    assert full_image_layers(256) == 5
    discriminator = build_discriminator("image", width=4, image_size=256)
    assert receptive_field(discriminator) >= 256


def test_unknown_discriminator_kind_is_refused_with_choices():
    with pytest.raises(ValueError, match="patch70"):
        build_discriminator("patch7")


def test_every_kind_builds_and_scores_a_batch():
    for kind in DISCRIMINATOR_KINDS:
        scores = build_discriminator(kind, width=4, image_size=32)(torch.randn(2, 3, 32, 32))
        assert scores.shape[:2] == (2, 1)


def test_pixel_discriminator_judges_pixels_independently():
    scores = PixelDiscriminator(4)(torch.randn(1, 3, 16, 16))
    assert scores.shape == (1, 1, 16, 16)


def test_init_draws_weights_from_normal_002_and_zero_biases():
    torch.manual_seed(0)
    generator = init_weights(ResnetGenerator(9, 64))
    convs = [m for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    weights = torch.cat([m.weight.flatten() for m in convs])
    biases = torch.cat([m.bias.flatten() for m in convs])
    assert abs(weights.mean().item()) < 1e-3
    assert weights.std().item() == pytest.approx(0.02, rel=0.01)
    assert torch.count_nonzero(biases) == 0
