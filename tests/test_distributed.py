"""Data-parallel training started with torchrun (distributed.py): on the CPU, gloo, 2 processes."""

import hashlib
import os
import subprocess
import sys
import textwrap
from unittest.mock import ANY

import pytest
import torch
import torch.distributed as dist
from test_training import assert_same_state
from torch.utils.data.distributed import DistributedSampler

from cyclegan_edu import cli, distributed
from cyclegan_edu.generator import init_weights
from cyclegan_edu.patchgan import build_discriminator
from cyclegan_edu.run_folder import RunFolder

# One process of a data-parallel gradient: a PatchGAN's gradient on this rank's image, averaged.
GRADIENT = textwrap.dedent("""
    import sys, torch
    from cyclegan_edu import distributed
    from cyclegan_edu.generator import init_weights
    from cyclegan_edu.patchgan import build_discriminator
    torch.set_num_threads(1)
    processes = distributed.join(torch.device("cpu"))
    torch.manual_seed(0)
    network = init_weights(build_discriminator("patch70", 8, 32))
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    network(images[processes.rank:processes.rank + 1]).square().mean().backward()
    distributed.average_gradients(network.parameters())
    torch.save([parameter.grad for parameter in network.parameters()], f"{sys.argv[1]}/rank{processes.rank}.pt")
    distributed.leave()
""")

# One process of a 2-process smoke run. Rank 1 may not write in the run folder (an audit hook refuses
# it); every process prints a hash of its weights after each epoch; rank 0 copies the run folder right
# after writing the checkpoint of step COPY_AT: the files a kill at that moment would leave.
SMOKE_RUN = textwrap.dedent("""
    import hashlib, os, shutil, sys
    import torch
    from cyclegan_edu import config, run_folder, training
    rank, out, copy_at, copy_to = int(os.environ["RANK"]), os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)

    def refuse_writes(event, args):
        writes = (event == "open" and args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
                  or event in ("os.rename", "os.remove", "os.mkdir"))
        if writes and isinstance(args[0], (str, os.PathLike)) and os.path.abspath(args[0]).startswith(out):
            raise AssertionError(f"rank {rank} wrote in the run folder: {event} {args[0]}")

    if rank > 0:
        sys.addaudithook(refuse_writes)
    save = run_folder.RunFolder.save_checkpoint

    def save_and_copy(folder, checkpoint):
        save(folder, checkpoint)
        if checkpoint["global_step"] == copy_at:
            shutil.copytree(folder.root, copy_to)

    def report(record, trainer):
        weights = b"".join(tensor.numpy().tobytes() for tensor in trainer.model.state_dict().values())
        print(f"rank {rank} epoch {record['epoch']} weights {hashlib.sha256(weights).hexdigest()}", flush=True)

    run_folder.RunFolder.save_checkpoint = save_and_copy
    training.train(config.preset("smoke"), out, progress=False, on_epoch_end=report)
""")


def torchrun(*arguments: str) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node 2 ARGUMENTS`, one torch thread per process."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *arguments]
    return subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=300)


def weights_hash(networks: dict[str, torch.Tensor]) -> str:
    return hashlib.sha256(b"".join(tensor.numpy().tobytes() for tensor in networks.values())).hexdigest()


@pytest.mark.parametrize("length, world_size", [(7, 2), (8, 2), (5, 3), (1, 2), (2, 4), (400, 4)])
def test_each_process_gets_the_items_distributed_sampler_deals_it(length, world_size):
    shards = [distributed.shard(length, rank, world_size) for rank in range(world_size)]
    for rank, items in enumerate(shards):
        sampler = DistributedSampler(range(length), world_size, rank, shuffle=False)
        assert items == list(sampler)
    assert set().union(*shards) == set(range(length))  # the epoch covers the data once across processes


def test_one_process_gets_the_whole_epoch_in_order():
    assert distributed.shard(5, 0, 1) == [0, 1, 2, 3, 4]


def test_without_torchrun_nothing_joins(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    processes = distributed.join(torch.device("cpu"))
    assert (processes.rank, processes.world_size, processes.is_main) == (0, 1, True)
    assert not dist.is_initialized()
    assert processes.mean({"G_total": 1.5}) == {"G_total": 1.5}


def test_averaged_gradients_are_the_gradient_of_the_mean_loss_over_both_images(tmp_path):
    """Data parallel with 2 processes of batch 1 is one process's step on the mean loss of the 2 images."""
    script = tmp_path / "gradient.py"
    script.write_text(GRADIENT)
    result = torchrun(str(script), str(tmp_path))
    assert result.returncode == 0, result.stderr
    torch.manual_seed(0)
    network = init_weights(build_discriminator("patch70", 8, 32))
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    network(images).square().mean().backward()  # instance norm: the batch's mean is the mean of each image's loss
    rank0, rank1 = (torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in (0, 1))
    for parameter, gradient0, gradient1 in zip(network.parameters(), rank0, rank1, strict=True):
        assert torch.equal(gradient0, gradient1)
        torch.testing.assert_close(gradient0, parameter.grad, rtol=1e-4, atol=1e-6)  # biases before a norm: ~0


@pytest.fixture(scope="module")
def two_process_run(toy_cache, tmp_path_factory):
    """A 2-process smoke run (2 epochs of 6 steps, a checkpoint every 2), start to finish: its folder, the
    processes' output, and the copy of its folder at step 8 (epoch 2, iteration 2)."""
    root = tmp_path_factory.mktemp("two_processes")
    script = root / "smoke_run.py"
    script.write_text(SMOKE_RUN)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYCLEGAN_EDU_CACHE", str(toy_cache))
        result = torchrun(str(script), str(root / "run"), "8", str(root / "stopped_at_step_8"))
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "run", result.stdout, root / "stopped_at_step_8"


def test_two_processes_keep_identical_weights_and_only_rank_0_writes(two_process_run):
    run, output, _ = two_process_run
    hashes = {tuple(line.split()[1:4:2]): line.split()[-1] for line in output.splitlines() if line.startswith("rank ")}
    assert hashes.keys() == {("0", "1"), ("1", "1"), ("0", "2"), ("1", "2")}
    assert hashes["0", "1"] == hashes["1", "1"] and hashes["0", "2"] == hashes["1", "2"]
    checkpoint = RunFolder(run).load_checkpoint()
    assert weights_hash(checkpoint["model"]["networks"]) == hashes["1", "2"]
    assert (checkpoint["world_size"], checkpoint["epoch"], checkpoint["global_step"]) == (2, 3, 12)
    other = checkpoint["other_processes"]
    assert len(other) == 1 and other[0]["pool_fake_a"]["rng"] != checkpoint["model"]["pool_fake_a"]["rng"]
    assert [row["epoch"] for row in RunFolder(run).read_history()] == [1.0, 2.0]  # one line per epoch, not two
    assert RunFolder(run).has_metrics() and (run / "samples" / "epoch_002.png").is_file()


def test_a_two_process_run_stopped_mid_epoch_resumes_bit_identically(toy_env, two_process_run):
    """Resumed by the CLI from what a kill after epoch 1 and two steps of epoch 2 leaves on disk
    (tests/test_training.py kills one-process runs with SIGKILL; a copy costs one torchrun launch less)."""
    reference, _, stopped = two_process_run
    checkpoint = RunFolder(stopped).load_checkpoint()
    assert (checkpoint["epoch"], checkpoint["iteration"]) == (2, 2)
    result = torchrun("-m", "cyclegan_edu", "resume", str(stopped), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("run folder:") == 1  # rank 0's report alone
    assert_same_state(RunFolder(reference).load_checkpoint(), RunFolder(stopped).load_checkpoint())
    assert RunFolder(stopped).read_history() == [{**row, "seconds": ANY, "seconds_per_iteration": ANY}
                                                 for row in RunFolder(reference).read_history()]


def test_resuming_with_another_number_of_processes_says_how_to_restart(two_process_run, capsys):
    run = two_process_run[0]
    before = RunFolder(run).latest.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["resume", str(run), "--quiet"])
    assert exit_.value.code == 1
    error = capsys.readouterr().err
    assert f"torchrun --nproc-per-node 2 -m cyclegan_edu resume {run}" in error and len(error.splitlines()) == 1
    assert RunFolder(run).latest.read_bytes() == before


def test_a_one_process_run_resumed_under_torchrun_is_told_to_resume_without_it(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(distributed.ProcessCountMismatch, match="cyclegan-edu resume runs/x \\(without torchrun\\)"):
        distributed.check_process_count(1, "runs/x")
