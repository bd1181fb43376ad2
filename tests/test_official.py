"""Official checkpoints: our generator computes exactly what the authors' network computes.

`OfficialResnetGenerator` below is written independently from the description of the authors'
`networks.py` (ResnetGenerator with norm_layer=InstanceNorm2d, use_dropout=False, padding 'reflect').
"""

import subprocess
import sys

import pytest
import torch
from torch import nn

from cyclegan_edu.generator import ResnetGenerator, init_weights
from cyclegan_edu.official import CheckpointMismatch, export_official_generator, load_official_generator


class OfficialResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        block = []
        for i in range(2):
            block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
                      nn.InstanceNorm2d(dim)]
            if i == 0:
                block += [nn.ReLU(True)]
        self.conv_block = nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class OfficialResnetGenerator(nn.Module):
    def __init__(self, input_nc=3, output_nc=3, ngf=64, n_blocks=9):
        super().__init__()
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=True),
                 nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=True),
                      nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU(True)]
        for _ in range(n_blocks):
            model += [OfficialResnetBlock(ngf * 4)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=True),
                      nn.InstanceNorm2d(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


def official_file(tmp_path, n_blocks=2, width=8, stray_norm_keys=True):
    torch.manual_seed(0)
    network = init_weights(OfficialResnetGenerator(ngf=width, n_blocks=n_blocks))
    for p in network.parameters():  # not only N(0, 0.02): biases too, so every key matters
        p.data.normal_(0, 0.1)
    state = network.state_dict()
    if stray_norm_keys:  # what files saved by PyTorch 0.3-era InstanceNorm carry
        state["model.2.running_mean"] = torch.zeros(width)
        state["model.2.running_var"] = torch.ones(width)
        state["model.11.conv_block.2.num_batches_tracked"] = torch.tensor(0)
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(state, path)
    return network, path


def test_official_file_loads_and_computes_the_same_function(tmp_path):
    official, path = official_file(tmp_path)
    ours = load_official_generator(path)
    assert (ours.n_blocks, ours.width) == (2, 8)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(ours(image), official(image), rtol=0, atol=0)


def test_nine_block_width_64_layout_matches_key_for_key():
    assert ResnetGenerator(9, 64).state_dict().keys() == OfficialResnetGenerator().state_dict().keys()


def test_architecture_mismatch_says_what_differs(tmp_path):
    _, path = official_file(tmp_path, n_blocks=2)
    with pytest.raises(CheckpointMismatch, match="the checkpoint has 2 residual blocks, this generator has 9"):
        load_official_generator(path, n_blocks=9)
    with pytest.raises(CheckpointMismatch, match="width 8, this generator has 64"):
        load_official_generator(path, width=64)


def test_a_file_that_is_not_a_generator_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointMismatch, match="not a ResNet generator"):
        load_official_generator(path)
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(CheckpointMismatch, match="Cannot read"):
        load_official_generator(tmp_path / "text.pth")


def test_files_that_would_run_code_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model.1.weight": torch.zeros(1), "payload": subprocess.Popen}, path)
    with pytest.raises(CheckpointMismatch):
        load_official_generator(path)  # weights_only=True refuses arbitrary objects


def test_export_round_trips_through_the_official_class(tmp_path):
    torch.manual_seed(1)
    ours = init_weights(ResnetGenerator(3, 8))
    path = export_official_generator(ours, tmp_path / "latest_net_G_B.pth")
    official = OfficialResnetGenerator(ngf=8, n_blocks=3)
    official.load_state_dict(torch.load(path, weights_only=True))
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(official(image), ours(image))
        assert torch.equal(load_official_generator(path)(image), ours(image))


def test_translate_cli_takes_an_official_file(tmp_path):
    from PIL import Image
    _, path = official_file(tmp_path, stray_norm_keys=True)
    Image.new("RGB", (50, 40), (10, 200, 30)).save(tmp_path / "in.jpg")
    result = subprocess.run([sys.executable, "-m", "cyclegan_edu", "translate", "--checkpoint", str(path),
                             "--input", str(tmp_path / "in.jpg"), "--output", str(tmp_path / "out"), "--size", "32"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "out" / "in.png").size == (32, 32)
