"""Notebook 08's run plan: its papermill parameters -> the run it trains, and the `results.json` it leaves.

Notebook 08 trains the full objective of Eq. 3 (Section 4's settings) with every ablation switch of
Section 5.1.4 as a papermill parameter. The notebook and the grader (`grading.py`) share:

    plan_run(parameters, device, smoke)   the notebook's parameters -> the Config and the run folder
    check_same_run(config, run_dir)       resume only a run of this very config
    evaluate_run(...)                     the evaluation that fits the data
    write_results(...)                    results.json: parameters, switches, metrics, timings, versions
"""

from __future__ import annotations

import dataclasses
import json
import platform
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cyclegan_edu import __version__
from cyclegan_edu.config import ABLATION_SWITCHES, PRESETS, Config, ConfigError, preset
from cyclegan_edu.data import cache
from cyclegan_edu.data.catalog import DATASETS
from cyclegan_edu.data.toy_horse2zebra import dataset_root
from cyclegan_edu.devices import device_name
from cyclegan_edu.errors import load_tensors
from cyclegan_edu.evaluation import evaluate_checkpoint, has_ground_truth
from cyclegan_edu.inception import FeatureWeightsUnavailable, standard_feature_extractor
from cyclegan_edu.run_folder import RunFolder
from cyclegan_edu.tensorboard_log import available as tensorboard_available

# The notebook's `parameters` cell, in its order; tests keep the two in step.
RUN_PARAMETERS = ("run_id", "dataset", "data_root", "preset", "epochs", "image_size", "gan_loss", "adversarial",
                  "forward_cycle", "backward_cycle", "cycle_weight", "identity_weight", "pool_size",
                  "discriminator", "seed", "checkpoint_dir", "drive_folder", "resume", "results_path",
                  "interactive", "tensorboard")
# Settings that change only what a run logs besides losses.csv: they do not name its folder, and a
# resume with another value continues the same run (config.RESUME_OVERRIDES lets them change).
LOGGING_ONLY = ("tensorboard",)


# On a CPU the notebook also checks its exercise and trains two rows of Table 4 side by side; the quick
# preset's own 4 epochs (about 3 minutes on 2 cores) would take it past 5 minutes, so `epochs = 0`
# means this many epochs there. Other presets keep their own length (paper: 200).
NOTEBOOK_EPOCHS = {"quick": 2}


@dataclass
class RunPlan:
    """What a set of notebook-08 parameters resolves to on this machine."""

    preset: str                   # the preset the config starts from
    dataset: str                  # "toy", a dataset name such as "horse2zebra", or a folder
    download: str | None          # the paper's dataset to fetch into data_root (a no-op once there)
    config: Config                # the run's settings before the ablation panel edits them
    runs_root: Path               # where automatically named run folders go
    run_id: str
    checkpoint_dir: str           # "" for an automatic run folder
    results_path: str             # "" for <run folder>/results.json

    def run_folder(self, config: Config) -> Path:
        """`checkpoint_dir` if given, else runs_root/run_id/<preset-dataset and what differs>."""
        if self.checkpoint_dir:
            return Path(self.checkpoint_dir)
        return self.runs_root / self.run_id / run_name(config, self.preset, self.dataset)

    def results_file(self, run_dir: Path) -> Path:
        return Path(self.results_path) if self.results_path else RunFolder(run_dir).results

    def describe(self) -> str:
        config = self.config
        data = f"{self.dataset} in {config.data} (downloaded first if missing)" if self.download else self.dataset
        return "\n".join([
            f"preset:   {self.preset}",
            f"data:     {data}",
            f"images:   resized to {config.load_size}, cropped to {config.crop_size} px",
            f"epochs:   {config.n_epochs} at lr {config.lr} + {config.n_epochs_decay} decaying to 0",
            f"networks: generator {config.generator_blocks} blocks x {config.generator_width} filters, "
            f"discriminator {config.discriminator} x {config.discriminator_width}",
            "switches: " + ", ".join(f"{name}={getattr(config, name)!r}" for name in ABLATION_SWITCHES),
        ])


def choose_preset(name: str, device: torch.device, smoke: bool) -> str:
    """"auto": the paper's run on a CUDA GPU, `quick` elsewhere; smoke mode always wins."""
    if smoke:
        return "smoke"
    if name == "auto":
        return "paper" if device.type == "cuda" else "quick"
    if name not in PRESETS:
        raise ConfigError(f"preset={name!r}: choose auto or one of {', '.join(PRESETS)}.")
    return name


def choose_dataset(name: str, preset_name: str, smoke: bool) -> str:
    """"auto": horse2zebra for the paper's preset, the embedded toy set otherwise (always in smoke mode)."""
    if smoke:
        return "toy"
    if name == "auto":
        return "horse2zebra" if preset_name == "paper" else "toy"
    return name


def load_size_for(crop_size: int) -> int:
    """The paper resizes to 286 before cropping 256 (Appendix 7.1): the same ratio at any size."""
    return round(crop_size * 286 / 256)


def plan_run(parameters: Mapping[str, Any], device: torch.device, smoke: bool,
             runs_root: Path | str = "runs") -> RunPlan:
    """Resolve the notebook's parameters (the "auto" and 0 sentinels included) into a validated Config.

    `epochs = 0` is the preset's length, but NOTEBOOK_EPOCHS for the quick preset.
    Smoke mode keeps the switches and the seed but takes the smoke preset's size, length and data,
    and without a checkpoint_dir trains in a fresh temporary folder: a CI run always trains.
    """
    unknown, missing = set(parameters) - set(RUN_PARAMETERS), set(RUN_PARAMETERS) - set(parameters)
    if unknown or missing:
        raise ConfigError(f"notebook parameters: unknown {sorted(unknown)}, missing {sorted(missing)}.")
    preset_name = choose_preset(parameters["preset"], device, smoke)
    dataset = choose_dataset(parameters["dataset"], preset_name, smoke)
    overrides: dict[str, Any] = {name: parameters[name] for name in ABLATION_SWITCHES}
    overrides["seed"] = parameters["seed"]
    overrides["tensorboard"] = bool(parameters["tensorboard"]) and tensorboard_available()  # on only if installed
    download = None
    if dataset in DATASETS:  # one of the paper's: fetched into data_root (at once if already there)
        overrides["data"] = str(Path(parameters["data_root"]) / dataset)
        download = dataset
    elif dataset != "toy":
        overrides["data"] = dataset
    if not smoke:
        epochs, size = int(parameters["epochs"]), int(parameters["image_size"])
        if epochs < 0 or size < 0:
            raise ConfigError(f"epochs={epochs} and image_size={size} must be 0 (the preset's) or more.")
        epochs = epochs or NOTEBOOK_EPOCHS.get(preset_name, 0)
        if epochs:
            overrides.update(n_epochs=epochs - epochs // 2, n_epochs_decay=epochs // 2)
        if size:
            overrides.update(crop_size=size, load_size=load_size_for(size))
            if dataset == "toy":
                overrides["toy_image_size"] = size
    config = preset(preset_name, **overrides)
    if smoke and not parameters["checkpoint_dir"]:
        runs_root = tempfile.mkdtemp(prefix="cyclegan_edu_smoke_")
    return RunPlan(preset_name, dataset, download, config, Path(runs_root), str(parameters["run_id"]),
                   str(parameters["checkpoint_dir"]), str(parameters["results_path"]))


def run_name(config: Config, preset_name: str, dataset: str) -> str:
    """A readable folder name: preset, data, then every setting that differs from the preset (the
    switches from the paper's values), so changing a switch starts a new run instead of resuming."""
    base, paper = PRESETS[preset_name](), Config()
    parts = [f"{preset_name}-{Path(dataset).name}"]
    for field in dataclasses.fields(Config):
        if field.name in ("data", "device", *LOGGING_ONLY):
            continue
        reference = paper if field.name in ABLATION_SWITCHES else base
        value = getattr(config, field.name)
        if value != getattr(reference, field.name):
            is_switch = isinstance(value, bool)
            parts.append(f"{'' if value else 'no_'}{field.name}" if is_switch else f"{field.name}={value}")
    return "__".join(parts)


def check_same_run(config: Config, run_dir: Path | str) -> None:
    """Before resuming: the folder must hold a run of this very config, or resuming would train another."""
    saved = load_tensors(RunFolder(run_dir).latest, "this run's checkpoint")
    asked = config.to_dict()
    differences = [f"{name}: saved {value!r}, asked {asked.get(name)!r}"
                   for name, value in saved["config"].items() if value != asked.get(name) and name not in LOGGING_ONLY]
    if differences:
        raise ConfigError(f"{run_dir} holds a run with other settings ({'; '.join(differences)}). "
                          "Choose another checkpoint_dir or run_id, or move that folder away.")


def evaluate_run(run_dir: Path | str, config: Config, train_metrics: dict[str, Any], device: torch.device,
                 weights_dir: Path | str | None = None) -> tuple[dict[str, Any], str]:
    """The evaluation that fits the data (Section 5.1.1): returns (metrics, a note on what was measured).

    With ground truth (the toy set): the scores `train` computed. Real data: diversity (computed by
    `train`, or here when train_metrics is empty), and FID/KID only when the standard Inception
    weights can be had; without them no FID, and no failure.
    """
    if has_ground_truth(dataset_root(config.data, config.toy_image_size)) and train_metrics:
        return train_metrics, "ground truth: L1, PSNR, SSIM beside doing nothing; diversity"
    try:
        features = standard_feature_extractor(weights_dir or cache.weights_dir())
        note = "diversity; FID and KID with the standard Inception-v3 weights"
    except FeatureWeightsUnavailable as error:
        features, note = None, f"diversity only: {str(error).splitlines()[0]}"
        if train_metrics:
            return train_metrics, note  # `train` scored diversity on these same test images
    root = dataset_root(config.data, config.toy_image_size)
    return evaluate_checkpoint(RunFolder(run_dir).latest, root, config.crop_size, features, device), note


def checkpoint_position(run_dir: Path | str) -> dict[str, int]:
    saved = RunFolder(run_dir).load_checkpoint()
    return {"epoch": int(saved["epoch"]), "global_step": int(saved["global_step"])}


def write_results(path: Path | str, *, parameters: Mapping[str, Any], plan: RunPlan, config: Config,
                  run_dir: Path | str, metrics: dict[str, Any], evaluation_note: str, resumed: bool,
                  session_seconds: float, device: torch.device, smoke: bool) -> dict[str, Any]:
    """Write results.json (what the grader collects) and return its content."""
    history = RunFolder(run_dir).read_history()
    position = checkpoint_position(run_dir)
    training_seconds = sum(row["seconds"] for row in history)
    results = {
        "run_id": plan.run_id,
        "parameters": dict(parameters),
        "resolved": {"preset": plan.preset, "dataset": plan.dataset, "smoke": smoke},
        "switches": {name: getattr(config, name) for name in ABLATION_SWITCHES},
        "config": config.to_dict(),
        "run_dir": str(run_dir),
        "resumed": resumed,
        "epochs_completed": len(history),
        "global_step": position["global_step"],
        "metrics": metrics,
        "evaluation": evaluation_note,
        "timings": {"training_seconds": round(training_seconds, 3),
                    "seconds_per_iteration": training_seconds / max(position["global_step"], 1),
                    "this_session_seconds": round(session_seconds, 3)},
        "device": {"type": device.type, "name": device_name(device)},
        "versions": {"cyclegan_edu": __version__, "torch": torch.__version__, "python": platform.python_version()},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return results
