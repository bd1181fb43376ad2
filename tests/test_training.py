"""The loop: the official LR rule, checkpoints, exact resume after SIGKILL, divergence, outputs."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch

from cyclegan_edu import config as presets
from cyclegan_edu.cyclegan import CycleGAN
from cyclegan_edu.data.toy_horse2zebra import toy_dataset_root
from cyclegan_edu.devices import select_device
from cyclegan_edu.run_folder import RunFolder
from cyclegan_edu.training import RunFolderError, Trainer, TrainingDiverged, lr_factor, make_schedulers, resume, train


def read_history(run_dir) -> list[dict[str, float]]:
    return RunFolder(run_dir).read_history()


@pytest.mark.parametrize("epoch, factor", [(1, 1.0), (100, 1.0), (101, 1 - 1 / 101), (150, 1 - 50 / 101),
                                           (200, 1 - 100 / 101)])
def test_lr_factor_follows_the_official_rule(epoch, factor):
    assert lr_factor(epoch, 100, 100) == pytest.approx(factor)


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")  # no optimizer steps: only the rule is tested
def test_schedulers_apply_the_rule_epoch_by_epoch():
    model = CycleGAN(generator_blocks=0, generator_width=1, discriminator="pixel", discriminator_width=1)
    schedulers = make_schedulers(model, presets.paper())
    seen = {}
    for epoch in range(1, 201):
        seen[epoch] = model.optimizer_g.param_groups[0]["lr"]
        assert model.optimizer_d.param_groups[0]["lr"] == seen[epoch]
        for scheduler in schedulers:
            scheduler.step()
    assert seen[1] == seen[100] == pytest.approx(2e-4)
    assert seen[101] == pytest.approx(2e-4 * 100 / 101)
    assert seen[150] == pytest.approx(2e-4 * 51 / 101)
    assert seen[200] == pytest.approx(2e-4 / 101)


def test_auto_device_is_the_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert select_device("auto").type == expected


def weights(out_dir) -> dict[str, torch.Tensor]:
    return RunFolder(out_dir).load_checkpoint()["model"]["networks"]


def test_a_run_on_data_without_ground_truth_still_scores_diversity(toy_env, tmp_path):
    """Real datasets have no true translations: metrics.json then holds the collapse check alone."""
    data = tmp_path / "data"
    for split in ("trainA", "trainB", "testA", "testB"):
        shutil.copytree(toy_dataset_root() / split, data / split)
    metrics = train(presets.preset("smoke", data=str(data)), tmp_path / "run", progress=False)
    assert set(metrics) == {"AtoB", "BtoA"}
    assert all(set(scores) == {"diversity"} and scores["diversity"] > 0 for scores in metrics.values())


def test_smoke_run_writes_every_output(toy_env, tmp_path):
    metrics = train(presets.smoke(), tmp_path, progress=False)
    assert set(metrics) == {"AtoB", "BtoA"}
    assert {"psnr", "psnr_identity", "l1", "l1_identity"} <= set(metrics["AtoB"])
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert [row["epoch"] for row in read_history(tmp_path)] == [1.0, 2.0]
    assert (tmp_path / "samples" / "epoch_002.png").is_file() and (tmp_path / "samples" / "latest.png").is_file()
    for name in ("latest.pt", "latest_net_G_A.pth", "latest_net_G_B.pth"):
        assert (tmp_path / "checkpoints" / name).is_file()
    checkpoint = torch.load(tmp_path / "checkpoints" / "latest.pt", weights_only=True)
    assert checkpoint["epoch"] == 3 and checkpoint["iteration"] == 0 and checkpoint["global_step"] == 12
    assert {"networks", "optimizer_g", "optimizer_d", "pool_fake_a", "pool_fake_b"} <= set(checkpoint["model"])
    assert len(checkpoint["schedulers"]) == 2 and checkpoint["package_version"]
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))


def test_a_second_train_into_the_same_folder_is_refused(toy_env, tmp_path):
    train(presets.smoke(), tmp_path, progress=False)
    before = (tmp_path / "checkpoints" / "latest.pt").read_bytes()
    with pytest.raises(RunFolderError, match="resume"):
        train(presets.smoke(), tmp_path, progress=False)
    assert (tmp_path / "checkpoints" / "latest.pt").read_bytes() == before


def test_resume_without_a_run_says_how_to_start(tmp_path):
    with pytest.raises(RunFolderError, match="cyclegan-edu train"):
        resume(tmp_path)


def assert_same_state(expected, actual, where="latest.pt"):
    """The whole checkpoint, every RNG state included, but for what differs between two runs by nature:
    wall-clock timings and the run's random id."""
    if isinstance(expected, dict):
        assert expected.keys() == actual.keys(), where
        for key in expected.keys() - {"epoch_seconds", "run_id"}:
            assert_same_state(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(expected) == len(actual), where
        for i, (left, right) in enumerate(zip(expected, actual, strict=True)):
            assert_same_state(left, right, f"{where}[{i}]")
    elif torch.is_tensor(expected):
        assert torch.equal(expected, actual), where
    else:
        assert expected == actual, where


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys, torch
    from cyclegan_edu import config, cyclegan, training
    torch.set_num_threads(int(sys.argv[3]))  # the resuming process's: oneDNN's sums depend on the thread count
    kill_at, step, count = int(sys.argv[2]), cyclegan.CycleGAN.train_step, [0]
    def dying_step(self, real_a, real_b):
        count[0] += 1
        if count[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return step(self, real_a, real_b)
    cyclegan.CycleGAN.train_step = dying_step
    training.train(config.preset("smoke"), sys.argv[1], progress=False)
""")


@pytest.fixture(scope="module")
def uninterrupted_run(toy_cache, tmp_path_factory):
    """One smoke run trained start to finish, the reference for every resumed run."""
    out = tmp_path_factory.mktemp("uninterrupted")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYCLEGAN_EDU_CACHE", str(toy_cache))
        train(presets.preset("smoke"), out, progress=False)
    return out


@pytest.mark.parametrize("kill_at", [1, 4, 9])
def test_a_run_killed_mid_epoch_resumes_bit_identically(toy_env, tmp_path, uninterrupted_run, kill_at):
    """SIGKILL at step `kill_at` (smoke: 2 epochs of 6 steps, a checkpoint every 2 steps)."""
    reference, interrupted = uninterrupted_run, tmp_path / "interrupted"
    arguments = [str(interrupted), str(kill_at), str(torch.get_num_threads())]
    child = subprocess.run([sys.executable, "-c", KILLED_RUN, *arguments], env=os.environ.copy(),
                           capture_output=True, text=True)
    assert child.returncode == -9, child.stderr
    resume(interrupted, progress=False)
    expected, actual = weights(reference), weights(interrupted)
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    assert_same_state(RunFolder(reference).load_checkpoint(), RunFolder(interrupted).load_checkpoint())
    assert read_history(interrupted)[-1]["G_total"] == read_history(reference)[-1]["G_total"]
    assert len(read_history(interrupted)) == 2


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(toy_env, tmp_path, monkeypatch):
    step, count = CycleGAN.train_step, [0]

    def failing_step(self, real_a, real_b):
        count[0] += 1
        losses = step(self, real_a, real_b)
        return {**losses, "G_total": float("nan")} if count[0] == 3 else losses

    monkeypatch.setattr(CycleGAN, "train_step", failing_step)
    with pytest.raises(TrainingDiverged, match=r"G_total became nan at epoch 1, step 3.*latest\.pt"):
        train(presets.smoke(), tmp_path, progress=False)
    checkpoint = torch.load(tmp_path / "checkpoints" / "latest.pt", weights_only=True)
    assert (checkpoint["epoch"], checkpoint["iteration"]) == (1, 2)
    assert all(torch.isfinite(v).all() for v in checkpoint["model"]["networks"].values())


def test_resume_of_a_finished_run_trains_no_further(toy_env, tmp_path):
    train(presets.smoke(), tmp_path, progress=False)
    before = weights(tmp_path)
    trainer = Trainer.resume(tmp_path, progress=False)
    assert trainer.position.epoch == 3
    trainer.run()
    after = weights(tmp_path)
    assert all(torch.equal(before[k], after[k]) for k in before)
