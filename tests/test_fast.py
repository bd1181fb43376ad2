"""Each switch of the fast step against the plain step (the reference)."""


import pytest
import torch

from cyclegan_edu import config as presets
from cyclegan_edu.cyclegan import LOSS_NAMES, CycleGAN
from cyclegan_edu.data.image_folders import DecodedImages, UnalignedDataset
from cyclegan_edu.data.toy_horse2zebra import toy_dataset_root
from cyclegan_edu.fast import FastCycleGAN
from cyclegan_edu.training import Trainer

SMALL = dict(generator_blocks=1, generator_width=8, discriminator_width=8, image_size=32, pool_size=2)


def pair(**fast_switches):
    torch.manual_seed(0)
    plain = CycleGAN(**SMALL)
    fast = FastCycleGAN(**fast_switches, **SMALL)
    fast.load_state_dict(plain.state_dict())
    return plain, fast.prepare(torch.device("cpu"))


def data(steps=4, n=2):
    generator = torch.Generator().manual_seed(3)
    return [(torch.rand(n, 3, 32, 32, generator=generator) * 2 - 1,
             torch.rand(n, 3, 32, 32, generator=generator) * 2 - 1) for _ in range(steps)]


def run(model, batches):
    return [model.train_step(a, b) for a, b in batches]


def assert_same_training(plain, fast, rtol, atol, loss_rtol):
    """Same losses at every step, and networks computing the same functions afterwards.

    Weights are compared through the networks' outputs: a conv bias right before instance norm
    has no effect and gets a gradient of pure rounding noise, which Adam turns into full-size steps
    of arbitrary sign, so those biases differ between any two summation orders."""
    batches = data()
    plain_losses, fast_losses = run(plain, batches), run(fast, batches)
    for ours, theirs in zip(fast_losses, plain_losses):
        for name in LOSS_NAMES:
            assert ours[name] == pytest.approx(theirs[name], rel=loss_rtol, abs=1e-6), name
    probe = data(steps=1, n=3)[0][0]
    with torch.no_grad():
        for name in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"):
            torch.testing.assert_close(getattr(fast, name)(probe), getattr(plain, name)(probe), rtol=rtol, atol=atol,
                                       msg=name)


@pytest.mark.parametrize("switches", [
    dict(batched_passes=True),
    dict(batched_passes=True, channels_last=True),
    dict(batched_passes=True, fused_adam=True),
], ids=["batched", "batched+channels_last", "batched+fused_adam"])
def test_exact_precision_switches_match_the_plain_step(switches):
    """Float tolerance: outputs in [-1, 1] agree to 2e-4 after four Adam steps (channels_last
    changes the convolution kernels' summation order, and Adam magnifies the last bits)."""
    plain, fast = pair(**switches)
    assert fast.optimizer_g.defaults.get("fused") == switches.get("fused_adam", None)
    assert_same_training(plain, fast, rtol=1e-4, atol=2e-4, loss_rtol=1e-4)


@pytest.mark.parametrize("switches", [dict(identity_weight=0.0), dict(forward_cycle=False), dict(adversarial=False),
                                      dict(backward_cycle=False, discriminator="pixel")])
def test_batched_step_respects_every_ablation_switch(switches):
    # Seed 1: from seed 0's weights, identity off, the two summation orders part at the third step (the
    # generators' weights go from 1e-8 to 4e-6 apart in one step, a rounding-level tie); seeds 1 to 3 agree to 1e-6.
    torch.manual_seed(1)
    plain = CycleGAN(**{**SMALL, **switches})
    fast = FastCycleGAN(batched_passes=True, **{**SMALL, **switches})
    fast.load_state_dict(plain.state_dict())
    assert_same_training(plain, fast.prepare(torch.device("cpu")), rtol=1e-4, atol=2e-4, loss_rtol=1e-4)


def test_compiled_networks_match_the_plain_step():
    """torch.compile (inductor's C++ kernels on CPU) fuses operations but computes the same step,
    and compiling in place keeps the official state_dict keys (no `_orig_mod.` prefix)."""
    torch.manual_seed(0)
    plain = CycleGAN(**SMALL)
    fast = FastCycleGAN(batched_passes=True, **SMALL)
    fast.load_state_dict(plain.state_dict())
    fast.prepare(torch.device("cpu"), compile_networks=True)
    assert fast.state_dict().keys() == plain.state_dict().keys()
    assert_same_training(plain, fast, rtol=1e-4, atol=2e-4, loss_rtol=1e-4)


def test_bf16_autocast_stays_within_tolerance_of_fp32():
    """bf16 keeps 8 bits of mantissa: losses agree to a few percent over four steps."""
    plain, fast = pair(batched_passes=True, precision="bf16")
    batches = data()
    for ours, theirs in zip(run(fast, batches), run(plain, batches)):
        for name in ("G_total", "cycle_a", "cycle_b", "D_a", "D_b"):
            assert ours[name] == pytest.approx(theirs[name], rel=0.05, abs=0.01), name


def test_fp16_with_a_grad_scaler_trains_and_checkpoints_the_scaler():
    _, fast = pair(batched_passes=True, precision="fp16")
    losses = run(fast, data(steps=2))
    assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in losses)
    assert "grad_scaler" in fast.training_state()


def test_decoded_images_on_device_give_exactly_the_dataloader_batches(toy_env):
    dataset = UnalignedDataset(toy_dataset_root(), "train", 72, 64, True, seed=5)
    dataset.set_epoch(3)
    decoded = DecodedImages(dataset, "cpu")
    indices = [0, 7, 123]
    expected = [dataset[i] for i in indices]
    batch = decoded.batch(indices)
    assert torch.equal(batch["A"], torch.stack([item["A"] for item in expected]))
    assert torch.equal(batch["B"], torch.stack([item["B"] for item in expected]))


def test_fast_switches_train_and_resume_exactly(toy_env, tmp_path):
    fast_smoke = presets.preset("smoke", batched_passes=True, channels_last=True, fused_adam=True, data_on_device=True)
    full = tmp_path / "full"
    Trainer.start(fast_smoke, full, progress=False).run()
    partial = tmp_path / "partial"
    trainer = Trainer.start(fast_smoke, partial, progress=False)
    trainer.train_epoch()  # one epoch, then "crash" and resume from its mid-epoch checkpoints
    Trainer.resume(partial, progress=False).run()
    expected = torch.load(full / "checkpoints" / "latest.pt", weights_only=True)["model"]["networks"]
    actual = torch.load(partial / "checkpoints" / "latest.pt", weights_only=True)["model"]["networks"]
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
    assert isinstance(trainer.model, FastCycleGAN) and trainer.decoded is not None


def test_the_fast_preset_uses_bf16_only_where_the_hardware_has_it(monkeypatch):
    assert presets.fast_switches("cpu", bf16=True) == dict(batched_passes=True, precision="bf16")
    assert presets.fast_switches("cpu", bf16=False) == dict(batched_passes=True, precision="fp32")
    assert presets.fast_switches("cuda", bf16=False)["precision"] == "fp16"
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: False, raising=False)
    assert not presets.bf16_supported("cpu") and not presets.bf16_supported("mps")
    if not torch.cuda.is_available():
        assert presets.fast().precision == "fp32" and presets.fast().batched_passes


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (benchmarks/gpu_check.sh runs it there)")
def test_the_cuda_fast_preset_trains_like_the_plain_step_on_the_gpu():
    """Every CUDA switch at once (bf16 or fp16, channels_last, fused Adam, compile with CUDA graphs)."""
    cuda = torch.device("cuda")
    switches = {k: v for k, v in presets.fast_switches("cuda").items() if k not in ("compile", "data_on_device")}
    torch.manual_seed(0)
    plain = CycleGAN(**SMALL).to(cuda)
    fast = FastCycleGAN(**switches, **SMALL)
    fast.load_state_dict(plain.state_dict())
    fast.prepare(cuda, compile_networks=True)
    batches = [(a.to(cuda), b.to(cuda)) for a, b in data()]
    for ours, theirs in zip(run(fast, batches), run(plain, batches)):
        for name in ("G_total", "cycle_a", "cycle_b", "D_a", "D_b"):
            assert ours[name] == pytest.approx(theirs[name], rel=0.05, abs=0.01), name


def test_each_switch_means_only_itself_bf16_without_batching_calls_each_generator_once_per_image():
    """`precision` changes the arithmetic, not the passes: without `batched_passes` G sees one batch of
    N images per call, as in the plain step (G(a), G(F(b)), G(b)), never the stacked 2N."""
    torch.manual_seed(0)
    fast = FastCycleGAN(batched_passes=False, precision="bf16", **SMALL).prepare(torch.device("cpu"))
    sizes = []
    fast.generator_ab.register_forward_pre_hook(lambda module, inputs: sizes.append(len(inputs[0])))
    fast.train_step(*data(steps=1, n=2)[0])
    assert sizes == [2, 2, 2]
