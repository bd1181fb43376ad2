"""Training CycleGAN: the loop, the learning-rate schedule, checkpoints and exact resume (Section 4).

The paper trains with Adam (lr 0.0002, betas 0.5 and 0.999), batch 1, keeping the learning rate
for 100 epochs and decaying it linearly toward zero over the next 100 (the official rule's last
epoch runs at 1/101 of the rate).

A run lives in one folder (`run_folder.RunFolder`: checkpoints, sample grids, losses.csv,
metrics.json). A run killed at any moment resumes from `latest.pt` and ends with the weights it would
have had:
the data order, crops and flips are functions of (seed, epoch, index), and the checkpoint holds
the networks, optimizers, schedulers, both history buffers and every RNG state.

Started by torchrun with several processes, the same loop is data-parallel (distributed.py): each
process trains on its share of every epoch, the gradients are averaged before each optimizer step,
and rank 0 alone writes the run folder, with every process's pools and RNG states in its checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from torchvision.utils import make_grid, save_image

from cyclegan_edu import __version__, distributed
from cyclegan_edu.config import RESUME_OVERRIDES, Config
from cyclegan_edu.cyclegan import LOSS_NAMES, CycleGAN
from cyclegan_edu.data.image_folders import DecodedImages, UnalignedDataset, batches_from, to_unit_range
from cyclegan_edu.data.toy_horse2zebra import dataset_root
from cyclegan_edu.devices import select_device
from cyclegan_edu.errors import UserError
from cyclegan_edu.evaluation import evaluate_checkpoint
from cyclegan_edu.fast import build_model
from cyclegan_edu.history_buffer import ImagePool
from cyclegan_edu.official import export_official_generator
from cyclegan_edu.progress import ProgressBar
from cyclegan_edu.run_folder import SAMPLE_GRID_PADDING, RunFolder
from cyclegan_edu.tensorboard_log import EpochLog

CHECKPOINT_FORMAT = 1


class TrainingDiverged(UserError, RuntimeError):
    """A loss or a weight became NaN or infinite; the last good checkpoint is left in place."""


class RunFolderError(UserError, RuntimeError):
    """The output folder already holds a run, or holds none to resume."""


def lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """Learning-rate multiplier for 1-based `epoch`: 1 for n_epochs epochs, then linear toward zero.

    The official rule `1 - max(0, e + epoch_count - n_epochs) / (n_epochs_decay + 1)` with
    e = epoch - 1 counted by the scheduler and epoch_count = 1.
    """
    return 1.0 - max(0, epoch - n_epochs) / float(n_epochs_decay + 1)


def make_schedulers(model: CycleGAN, config: Config) -> list[torch.optim.lr_scheduler.LambdaLR]:
    """One LambdaLR per optimizer, stepped once at the end of every epoch."""
    def factor(completed_epochs: int) -> float:
        return lr_factor(completed_epochs + 1, config.n_epochs, config.n_epochs_decay)
    return [torch.optim.lr_scheduler.LambdaLR(opt, factor) for opt in (model.optimizer_g, model.optimizer_d)]


@dataclass
class Position:
    """Where a run stands: the 1-based epoch in progress and the steps done within it."""

    epoch: int = 1
    iteration: int = 0
    global_step: int = 0


class Trainer:
    """Drives one run in a run folder; `Trainer.start(config, out)` or `Trainer.resume(out)`, then `.run()`."""

    def __init__(self, config: Config, out_dir: Path | str, checkpoint: dict[str, Any] | None = None,
                 progress: bool = True) -> None:
        self.config = config.validate()
        self.folder = RunFolder(out_dir)
        self.run_id = (checkpoint or {}).get("run_id") or uuid.uuid4().hex  # a new id for a new (or older) run
        self.processes = distributed.join(select_device(config.device))  # under torchrun: this process's rank, GPU
        self.device = self.processes.device
        # optional TensorBoard copy of the logs: a missing package stops every process here, before any file is written
        self.tensorboard = EpochLog.for_run(config.tensorboard, self.folder.tensorboard, self.processes.is_main)
        self.progress = progress and self.processes.is_main
        self.root = dataset_root(config.data, config.toy_image_size)
        self.dataset = UnalignedDataset(self.root, "train", config.load_size, config.crop_size, config.flip,
                                        config.seed, config.skip_unreadable)
        self.test_dataset = UnalignedDataset(self.root, "test", config.crop_size, config.crop_size, False, config.seed,
                                             config.skip_unreadable)
        torch.manual_seed(config.seed)  # the weights' initialization
        self.model = build_model(config, self.device)  # the plain step, or the fast one with its switches
        if self.processes.world_size > 1:
            # Gradients averaged before each optimizer step, not DistributedDataParallel wrappers: a step calls
            # each network several times and freezes D during G's update, which DDP's reducer does not allow.
            self.model.gradient_averaging = distributed.average_gradients
            seed = config.seed + 2 * self.processes.rank  # each process its own histories; rank 0 the run's seeds
            self.model.pool_fake_a, self.model.pool_fake_b = (ImagePool(config.pool_size, seed),
                                                              ImagePool(config.pool_size, seed + 1))
        self.decoded = DecodedImages(self.dataset, self.device) if config.data_on_device else None
        self.schedulers = make_schedulers(self.model, config)
        self.position = Position()
        self.epoch_sums = dict.fromkeys(LOSS_NAMES, 0.0)
        self.epoch_seconds = 0.0
        self.overrides: list[dict[str, Any]] = []  # what each resume changed, at which step
        self.saved_step: int | None = None  # the global step of the last checkpoint written
        if checkpoint is not None:
            self.load_checkpoint(checkpoint)

    # ---- starting and resuming -------------------------------------------------------------
    @classmethod
    def start(cls, config: Config, out_dir: Path | str, progress: bool = True) -> Trainer:
        """A new run; refuses a folder that already holds one rather than overwrite its files."""
        folder = RunFolder(out_dir)
        if folder.root.exists() and not folder.root.is_dir():
            raise RunFolderError(f"--out {out_dir} is a file: give a folder for the run (new or empty).")
        if folder.has_checkpoint():
            raise RunFolderError(f"{out_dir} already holds a run. Continue it with `cyclegan-edu resume {out_dir}`, "
                                 "or choose another --out folder.")
        if folder.holds_a_run():
            raise RunFolderError(f"{out_dir} already holds a run that wrote no checkpoint (its run.json or losses.csv "
                                 "is there): choose another --out folder, or delete that run's files first.")
        trainer = cls(config, out_dir, progress=progress)
        trainer.write_record()
        return trainer

    @classmethod
    def resume(cls, out_dir: Path | str, progress: bool = True, **overrides: Any) -> Trainer:
        """Continue the run in `out_dir` from `checkpoints/latest.pt`, with the config saved there.

        `overrides` may change the fields of RESUME_OVERRIDES (a lower `lr` after a divergence, a moved
        `data` folder); they are recorded in run.json. The checkpoint must be this run's own: one
        copied from another run is refused before anything in the folder changes.
        """
        folder = RunFolder(out_dir)
        if not folder.has_checkpoint():
            raise RunFolderError(f"Nothing to resume: {folder.latest} does not exist. Start a run with "
                                 f"`cyclegan-edu train --out {out_dir}`.")
        refused = sorted(set(overrides) - set(RESUME_OVERRIDES))
        if refused:
            raise RunFolderError(f"resume keeps a run's settings; {', '.join(refused)} cannot change (only "
                                 f"{', '.join(RESUME_OVERRIDES)} can). Start a new run to change them.")
        checkpoint = folder.load_checkpoint()
        distributed.check_process_count(checkpoint.get("world_size", 1), out_dir)
        record = folder.read_record()
        if record is not None and checkpoint.get("run_id") and record.get("run_id") != checkpoint["run_id"]:
            raise RunFolderError(f"{folder.latest} belongs to another run than {out_dir} (run ids "
                                 f"{checkpoint.get('run_id') or 'none'} and {record.get('run_id')}): put this run's "
                                 "own checkpoint back, or train the other run in its own folder.")
        config = dataclasses.replace(Config.from_dict(checkpoint["config"]), **overrides)
        trainer = cls(config, out_dir, checkpoint, progress)
        if overrides:
            trainer.overrides.append({"global_step": trainer.position.global_step, **overrides})
            trainer.apply_lr(config.lr)
        trainer.write_record()
        return trainer

    def write_record(self) -> None:
        if self.processes.is_main:
            self.folder.write_record({"run_id": self.run_id, "config": self.config.to_dict(),
                                      "resume_overrides": self.overrides})

    def apply_lr(self, lr: float) -> None:
        """Set the schedule's base rate to `lr` (a resume that lowers it): every later epoch uses it."""
        for scheduler in self.schedulers:
            scheduler.base_lrs = [lr] * len(scheduler.base_lrs)
            for group, factor in zip(scheduler.optimizer.param_groups, scheduler.lr_lambdas, strict=True):
                group["initial_lr"], group["lr"] = lr, lr * factor(scheduler.last_epoch)

    def checkpoint(self) -> dict[str, Any]:
        """Rank 0's state (a one-process run's), and the processes that trained it."""
        return {"format": CHECKPOINT_FORMAT, "package_version": __version__, "run_id": self.run_id,
                "resume_overrides": self.overrides, "config": self.config.to_dict(),
                "epoch": self.position.epoch, "iteration": self.position.iteration,
                "global_step": self.position.global_step, "epoch_sums": dict(self.epoch_sums),
                "epoch_seconds": self.epoch_seconds, "model": self.model.training_state(),
                "schedulers": [s.state_dict() for s in self.schedulers], **rng_states(),
                "world_size": self.processes.world_size}

    def process_state(self) -> dict[str, Any]:
        """What differs between the processes of a data-parallel run: each one's image pools and RNG states."""
        return {"pool_fake_a": self.model.pool_fake_a.state_dict(), "pool_fake_b": self.model.pool_fake_b.state_dict(),
                **rng_states()}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.processes.is_main:
            self.folder.remove_partial_writes()  # of a write a kill interrupted
        self.overrides = list(checkpoint.get("resume_overrides", []))
        self.saved_step = checkpoint["global_step"]
        self.model.load_training_state(checkpoint["model"])
        for scheduler, state in zip(self.schedulers, checkpoint["schedulers"]):
            scheduler.load_state_dict(state)
        self.position = Position(checkpoint["epoch"], checkpoint["iteration"], checkpoint["global_step"])
        self.epoch_sums, self.epoch_seconds = dict(checkpoint["epoch_sums"]), checkpoint["epoch_seconds"]
        set_rng_states(checkpoint)
        if self.processes.rank > 0:  # its own pools and RNG states, which rank 0 gathered
            state = checkpoint["other_processes"][self.processes.rank - 1]
            self.model.pool_fake_a.load_state_dict(state["pool_fake_a"], self.device)
            self.model.pool_fake_b.load_state_dict(state["pool_fake_b"], self.device)
            set_rng_states(state)
        if self.processes.is_main:
            self.folder.drop_history_after(self.position.epoch)

    def save_checkpoint(self) -> None:
        """Write latest.pt, only from finite weights: the checkpoint before a divergence stays the last good one.

        Every process of a data-parallel run calls it: rank 0 gathers the others' `process_state` and
        alone writes the file.
        """
        self.check_weights_finite()
        states = self.processes.gather_on_main(self.process_state()) if self.processes.world_size > 1 else []
        if self.processes.is_main:
            self.folder.save_checkpoint({**self.checkpoint(), "other_processes": states[1:]})
        self.saved_step = self.position.global_step

    def divergence_advice(self) -> str:
        where = (f"the last good checkpoint, {self.folder.latest} (step {self.saved_step}), is kept"
                 if self.saved_step is not None else "no checkpoint was written")
        return (f"Training stopped; {where}. Continue from it with a lower learning rate, e.g. "
                f"`cyclegan-edu resume {self.folder.root} --lr {self.config.lr / 10:g}`, or start afresh.")

    def check_weights_finite(self) -> None:
        """Raise TrainingDiverged when a weight or an optimizer moment is NaN or infinite: the step that
        breaks the weights can still report finite losses, computed before its update."""
        tensors = [*self.model.parameters()] + [value for optimizer in (self.model.optimizer_g, self.model.optimizer_d)
                                                for state in optimizer.state.values() for value in state.values()
                                                if torch.is_tensor(value) and value.is_floating_point()]
        if not all(bool(torch.isfinite(tensor).all()) for tensor in tensors):
            raise TrainingDiverged(f"The weights became NaN or infinite by epoch {self.position.epoch}, step "
                                   f"{self.position.iteration}. {self.divergence_advice()}")

    # ---- the loop ---------------------------------------------------------------------------
    def steps_per_epoch(self) -> int:
        items = math.ceil(len(self.dataset) / self.processes.world_size)  # this process's share of the epoch
        steps = math.ceil(items / self.config.batch_size)
        return min(steps, self.config.iterations_per_epoch) if self.config.iterations_per_epoch else steps

    def epoch_batches(self) -> Iterable[dict[str, torch.Tensor]]:
        """Batches of the current epoch from the current iteration on (mid-epoch resume), drawn from this
        process's share of the epoch's items (all of them in one process)."""
        self.dataset.set_epoch(self.position.epoch)
        size = self.config.batch_size
        items = distributed.shard(len(self.dataset), self.processes.rank, self.processes.world_size)
        n_items = min(len(items), self.steps_per_epoch() * size)
        batches = [[items[i] for i in batch] for batch in batches_from(self.position.iteration * size, n_items, size)]
        if self.decoded is not None:
            return (self.decoded.batch(indices) for indices in batches)
        # Its own generator: the loader's worker seed must not draw from torch's global RNG, whose state
        # the checkpoint restores (a mid-epoch resume would draw once more than an uninterrupted run).
        return DataLoader(self.dataset, batch_sampler=batches, num_workers=self.config.num_workers,
                          pin_memory=self.device.type == "cuda", generator=torch.Generator())

    def check_finite(self, losses: dict[str, float]) -> None:
        bad = [name for name, value in losses.items() if not math.isfinite(value)]
        if bad:
            raise TrainingDiverged(f"Loss {', '.join(bad)} became {losses[bad[0]]} at epoch {self.position.epoch}, "
                                   f"step {self.position.iteration + 1}. {self.divergence_advice()}")

    def train_epoch(self) -> None:
        steps = self.steps_per_epoch()
        bar = ProgressBar(total=steps, initial=self.position.iteration, disable=not self.progress,
                          desc=f"epoch {self.position.epoch}/{self.config.total_epochs}", leave=True)
        started = time.perf_counter()
        for batch in self.epoch_batches():
            losses = self.model.train_step(batch["A"].to(self.device), batch["B"].to(self.device))
            losses = self.processes.mean(losses)  # data parallel: the mean over the processes, logged by rank 0
            self.check_finite(losses)
            for name, value in losses.items():
                self.epoch_sums[name] += value
            self.position.iteration += 1
            self.position.global_step += 1
            bar.update()
            bar.set_postfix({k: f"{losses[k]:.3f}" for k in ("G_total", "cycle_a", "D_a", "D_b")})
            every = self.config.checkpoint_every
            if every and self.position.iteration % every == 0 and self.position.iteration < steps:
                self.epoch_seconds += time.perf_counter() - started
                started = time.perf_counter()
                self.save_checkpoint()
        self.epoch_seconds += time.perf_counter() - started
        bar.close()

    def finish_epoch(self) -> dict[str, Any]:
        """Log the epoch, step the schedulers, save samples, move to the next epoch and checkpoint."""
        self.check_weights_finite()  # before anything of this epoch is logged
        steps = max(self.position.iteration, 1)
        record = {"epoch": self.position.epoch, "lr": self.model.optimizer_g.param_groups[0]["lr"],
                  **{name: total / steps for name, total in self.epoch_sums.items()},
                  "seconds": self.epoch_seconds, "seconds_per_iteration": self.epoch_seconds / steps}
        if self.processes.is_main:
            self.folder.append_history(record)
            self.save_samples(self.folder.sample_grid(self.position.epoch))
            if self.tensorboard is not None:
                self.tensorboard.write(record, self.folder.sample_grid(self.position.epoch))
        with warnings.catch_warnings():
            # the cycle-alone ablation never steps the discriminators' optimizer; its schedule still advances
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)` before")
            for scheduler in self.schedulers:
                scheduler.step()
        self.position = Position(self.position.epoch + 1, 0, self.position.global_step)
        self.epoch_sums, self.epoch_seconds = dict.fromkeys(LOSS_NAMES, 0.0), 0.0
        self.save_checkpoint()
        return record

    def run(self, on_epoch_end: Callable[[dict[str, Any], Trainer], None] | None = None) -> dict[str, Any]:
        """Train to the last epoch, then export generators and write metrics; returns the metrics."""
        if self.position.global_step == 0 and self.position.epoch == 1:
            self.save_checkpoint()  # a run killed in its first steps can still be resumed
        while self.position.epoch <= self.config.total_epochs:
            self.train_epoch()
            record = self.finish_epoch()
            if on_epoch_end is not None:
                on_epoch_end(record, self)
        return self.finish()

    def finish(self) -> dict[str, Any]:
        """Export both generators in the official layout and score the saved ones on the test images
        (`evaluation.evaluate_checkpoint`): against ground truth where the data has it, diversity always.
        Rank 0 does it; every process returns its scores."""
        metrics: dict[str, Any] = {}
        if self.processes.is_main:
            for direction, generator in (("AtoB", self.model.generator_ab), ("BtoA", self.model.generator_ba)):
                export_official_generator(generator, self.folder.generator_file(direction))
            metrics = evaluate_checkpoint(self.folder.latest, device=self.device)
            self.folder.write_metrics(metrics)
            if self.tensorboard is not None:
                self.tensorboard.close()
        return self.processes.from_main(metrics)

    # ---- outputs ------------------------------------------------------------------------------
    @torch.no_grad()
    def save_samples(self, path: Path) -> None:
        """Rows (run_folder.SAMPLE_ROWS): real A, G(A), F(G(A)), real B, F(B), G(F(B)), first test images."""
        count = min(self.config.sample_images, len(self.test_dataset))
        if count == 0:
            return
        items = [self.test_dataset[i] for i in range(count)]
        real_a = torch.stack([item["A"] for item in items]).to(self.device)
        real_b = torch.stack([item["B"] for item in items]).to(self.device)
        fake_b, fake_a = self.model.translate(real_a, "AtoB"), self.model.translate(real_b, "BtoA")
        rows = [real_a, fake_b, self.model.translate(fake_b, "BtoA"),
                real_b, fake_a, self.model.translate(fake_a, "AtoB")]
        grid = make_grid(to_unit_range(torch.cat(rows).float().cpu()), nrow=count, padding=SAMPLE_GRID_PADDING,
                         pad_value=1.0)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        save_image(grid, self.folder.latest_samples)


def rng_states() -> dict[str, Any]:
    """This process's torch RNG states, CPU and CUDA."""
    return {"torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch_rng"])
    if states["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda_rng"])


def run_report(out_dir: Path | str, metrics: dict[str, Any]) -> str:
    """Where a finished run's files are, and its test scores: PSNR and L1 beside doing nothing where
    there is ground truth, diversity always."""
    folder = RunFolder(out_dir)
    lines = [f"run folder: {folder.root}", f"  samples:     {folder.latest_samples}",
             f"  losses:      {folder.losses}", f"  checkpoint:  {folder.latest}"]
    if metrics:
        lines.append(f"  metrics:     {folder.metrics}")
    for direction, scores in metrics.items():
        truth = (f"PSNR {scores['psnr']:.2f} dB (do nothing: {scores['psnr_identity']:.2f} dB), "
                 f"L1 {scores['l1']:.4f} (do nothing: {scores['l1_identity']:.4f}), " if "psnr" in scores else "")
        spread = f"diversity {scores['diversity']:.2f}" if "diversity" in scores else "no diversity (one test image)"
        lines.append(f"  {direction}: {truth}{spread}")
    return "\n".join(lines)


def train(config: Config, out_dir: Path | str, progress: bool = True,
          on_epoch_end: Callable[[dict[str, Any], Trainer], None] | None = None) -> dict[str, Any]:
    """Train a new run in `out_dir`; returns its test metrics (see `Trainer.finish`). Under torchrun,
    every process calls it (distributed.py)."""
    metrics = Trainer.start(config, out_dir, progress).run(on_epoch_end)
    distributed.leave()
    return metrics


def resume(out_dir: Path | str, progress: bool = True,
           on_epoch_end: Callable[[dict[str, Any], Trainer], None] | None = None, **overrides: Any) -> dict[str, Any]:
    """Continue the run in `out_dir` from its latest checkpoint to the end; returns its test metrics.

    `overrides`: fields of RESUME_OVERRIDES to change, e.g. `lr=1e-4` after a divergence. A run trained
    by torchrun's N processes resumes with N processes."""
    metrics = Trainer.resume(out_dir, progress, **overrides).run(on_epoch_end)
    distributed.leave()
    return metrics
