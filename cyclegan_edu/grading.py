"""Notebook 08's runs: its parameters, its `results.json`, and graded runs of it with papermill.

Notebook 08 trains the full objective of Eq. 3 (Section 4's settings) with every ablation switch of
Section 5.1.4 as a papermill parameter. What the notebook and the grader share lives here:

    plan_run(parameters, device, smoke)   the notebook's parameters -> the Config and the run folder
    write_results(...)                    results.json: parameters, switches, metrics, timings, versions
    grade(grid, out)                      the notebook once per row of a grid, then summary.csv and .md

A grid is YAML (a list of mappings, or a mapping with `runs:` and optional `defaults:`) or CSV
(header `run_id,param1,param2,...`); each row names a run id and the parameters it overrides.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import json
import platform
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from cyclegan_edu import __version__
from cyclegan_edu.config import PRESETS, Config, ConfigError, preset
from cyclegan_edu.datasets import DATASETS

NOTEBOOK_NAME = "08_full_training.ipynb"
# The notebook's `parameters` cell, in its order; tests keep the two in step.
RUN_PARAMETERS = ("run_id", "dataset", "data_root", "preset", "epochs", "image_size", "gan_loss", "adversarial",
                  "forward_cycle", "backward_cycle", "cycle_weight", "identity_weight", "pool_size",
                  "discriminator", "seed", "checkpoint_dir", "drive_folder", "resume", "results_path",
                  "interactive")
# Eq. 3's terms and the design choices of Section 4, as Config fields (the ablation panel's controls).
SWITCHES = ("gan_loss", "adversarial", "forward_cycle", "backward_cycle", "cycle_weight", "identity_weight",
            "pool_size", "discriminator")
GRADER_PARAMETERS = ("checkpoint_dir", "results_path", "interactive")  # set by `grade` for every run
SUMMARY_METRICS = ("psnr", "psnr_identity", "ssim", "diversity", "fid", "kid")
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class GridError(ConfigError):
    """A grid of graded runs that cannot be run; the message names the row and the field."""


# ---- the notebook's parameters -> what to train -------------------------------------------------
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
        return Path(self.results_path) if self.results_path else Path(run_dir) / "results.json"

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
            "switches: " + ", ".join(f"{name}={getattr(config, name)!r}" for name in SWITCHES),
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

    Smoke mode keeps the switches and the seed but takes the smoke preset's size, length and data,
    and without a checkpoint_dir trains in a fresh temporary folder: a CI run always trains.
    """
    unknown, missing = set(parameters) - set(RUN_PARAMETERS), set(RUN_PARAMETERS) - set(parameters)
    if unknown or missing:
        raise ConfigError(f"notebook parameters: unknown {sorted(unknown)}, missing {sorted(missing)}.")
    preset_name = choose_preset(parameters["preset"], device, smoke)
    dataset = choose_dataset(parameters["dataset"], preset_name, smoke)
    overrides: dict[str, Any] = {name: parameters[name] for name in SWITCHES}
    overrides["seed"] = parameters["seed"]
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
        if field.name in ("data", "device"):
            continue
        reference = paper if field.name in SWITCHES else base
        value = getattr(config, field.name)
        if value != getattr(reference, field.name):
            is_switch = isinstance(value, bool)
            parts.append(f"{'' if value else 'no_'}{field.name}" if is_switch else f"{field.name}={value}")
    return "__".join(parts)


def check_same_run(config: Config, run_dir: Path | str) -> None:
    """Before resuming: the folder must hold a run of this very config, or resuming would train another."""
    saved = torch.load(Path(run_dir) / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True, mmap=True)
    asked = config.to_dict()
    differences = [f"{name}: saved {value!r}, asked {asked.get(name)!r}"
                   for name, value in saved["config"].items() if value != asked.get(name)]
    if differences:
        raise ConfigError(f"{run_dir} holds a run with other settings ({'; '.join(differences)}). "
                          "Choose another checkpoint_dir or run_id, or move that folder away.")


# ---- after training: evaluation and results.json -------------------------------------------------
def evaluate_run(run_dir: Path | str, config: Config, train_metrics: dict[str, Any], device: torch.device,
                 weights_dir: Path | str) -> tuple[dict[str, Any], str]:
    """The evaluation that fits the data (Section 5.1.2): returns (metrics, a note on what was measured).

    With ground truth (the toy set): the scores `train` computed. Real data: diversity (computed by
    `train`, or here when train_metrics is empty), and FID/KID only when the standard Inception
    weights can be had; without them no FID, and no failure.
    """
    from cyclegan_edu.evaluation import (FeatureWeightsUnavailable, evaluate_generators, has_ground_truth,
                                         standard_feature_extractor)
    from cyclegan_edu.official import load_official_generator
    from cyclegan_edu.training import dataset_root

    root = dataset_root(config)
    if has_ground_truth(root) and train_metrics:
        return train_metrics, "ground truth: L1, PSNR, SSIM beside doing nothing; diversity"
    try:
        features = standard_feature_extractor(weights_dir)
        note = "diversity; FID and KID with the standard Inception-v3 weights"
    except FeatureWeightsUnavailable as error:
        features, note = None, f"diversity only: {str(error).splitlines()[0]}"
        if train_metrics:
            return train_metrics, note  # `train` scored diversity on these same test images
    checkpoint = Path(run_dir) / "checkpoints" / "latest.pt"
    translators = {d: load_official_generator(checkpoint, device=device, direction=d) for d in ("AtoB", "BtoA")}
    return evaluate_generators(translators, root, config.crop_size, features=features, device=device), note


def checkpoint_position(run_dir: Path | str) -> dict[str, int]:
    saved = torch.load(Path(run_dir) / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True, mmap=True)
    return {"epoch": int(saved["epoch"]), "global_step": int(saved["global_step"])}


def device_description(device: torch.device) -> dict[str, str]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {"type": device.type, "name": name}


def write_results(path: Path | str, *, parameters: Mapping[str, Any], plan: RunPlan, config: Config,
                  run_dir: Path | str, metrics: dict[str, Any], evaluation_note: str, resumed: bool,
                  session_seconds: float, device: torch.device, smoke: bool) -> dict[str, Any]:
    """Write results.json (what the grader collects) and return its content."""
    from cyclegan_edu.training import read_history

    history = read_history(run_dir)
    position = checkpoint_position(run_dir)
    training_seconds = sum(row["seconds"] for row in history)
    results = {
        "run_id": plan.run_id,
        "parameters": dict(parameters),
        "resolved": {"preset": plan.preset, "dataset": plan.dataset, "smoke": smoke},
        "switches": {name: getattr(config, name) for name in SWITCHES},
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
        "device": device_description(device),
        "versions": {"cyclegan_edu": __version__, "torch": torch.__version__, "python": platform.python_version()},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return results


# ---- grids of runs ---------------------------------------------------------------------------------
def default_notebook() -> Path:
    """notebooks/08_full_training.ipynb of the repository this package was installed from."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / NOTEBOOK_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{NOTEBOOK_NAME} is not beside this installation of cyclegan_edu (looked for "
                                f"{path}): pass --notebook PATH to the notebook.")
    return path


def notebook_parameters(notebook: Path | str) -> dict[str, Any]:
    """The notebook's `parameters` cell as {name: default value} (papermill reads it)."""
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    return {name: ast.literal_eval(info["default"]) for name, info in found.items()}


def parse_value(text: str, default: Any) -> Any:
    """A CSV cell as the type of the parameter's default: "false" -> False, "0.5" -> 0.5."""
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{text!r} is not true or false")
        return lowered in ("true", "1", "yes")
    if isinstance(default, (int, float)):
        return type(default)(float(text)) if isinstance(default, float) else int(text)
    return text


def read_grid(path: Path | str) -> list[dict[str, Any]]:
    """Rows of a YAML or CSV grid, each a dict with `run_id` and overrides (CSV values still text)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No grid at {path}.")
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as file:
            return [{k.strip(): v for k, v in row.items() if v is not None and v.strip() != ""}
                    for row in csv.DictReader(file)]
    import yaml

    content = yaml.safe_load(path.read_text())
    defaults: dict[str, Any] = {}
    if isinstance(content, dict):
        defaults, content = content.get("defaults") or {}, content.get("runs")
    if not isinstance(content, list) or not all(isinstance(row, dict) for row in content):
        raise GridError(f"{path}: expected a list of runs (mappings with run_id and parameters), "
                        "or a mapping with `runs:` holding that list.")
    return [{**defaults, **row} for row in content]


def check_grid(rows: list[dict[str, Any]], known: Mapping[str, Any], csv_text: bool = False) -> list[dict[str, Any]]:
    """Every row has a unique, file-safe run_id and only the notebook's parameters; CSV text is typed."""
    seen: set[str] = set()
    checked = []
    for number, row in enumerate(rows, start=1):
        run_id = str(row.get("run_id", ""))
        if not RUN_ID_PATTERN.fullmatch(run_id) or run_id in seen:
            raise GridError(f"row {number}: run_id {run_id!r} must be unique and made of letters, digits, _ . -")
        seen.add(run_id)
        unknown = sorted(set(row) - set(known))
        if unknown:
            raise GridError(f"row {number} ({run_id}): unknown parameter(s) {', '.join(unknown)}; "
                            f"the notebook has {', '.join(known)}.")
        reserved = sorted(set(row) & set(GRADER_PARAMETERS))
        if reserved:
            raise GridError(f"row {number} ({run_id}): {', '.join(reserved)} are set by the grader.")
        typed = {}
        for name, value in row.items():
            if csv_text and name != "run_id":
                try:
                    value = parse_value(value, known[name])
                except ValueError as error:
                    raise GridError(f"row {number} ({run_id}): {name}={value!r}: {error}") from None
            typed[name] = value
        typed["run_id"] = run_id
        checked.append(typed)
    if not checked:
        raise GridError("the grid holds no runs.")
    return checked


def flatten_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """{"AtoB": {"psnr": 20.1}} -> {"psnr_AtoB": 20.1}; numbers only."""
    return {f"{name}_{direction}": value for direction, scores in metrics.items()
            for name, value in scores.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}


def run_one(notebook: Path, out: Path, row: dict[str, Any], kernel_name: str | None) -> dict[str, Any]:
    """Execute the notebook for one row into out/RUN_ID.ipynb; a failed run is reported, not raised."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    run_id = row["run_id"]
    results_path = out / run_id / "results.json"
    results_path.unlink(missing_ok=True)  # present afterwards only if this run succeeded
    parameters = {**row, "checkpoint_dir": str(out / run_id / "run"), "results_path": str(results_path),
                  "interactive": False}
    summary: dict[str, Any] = {"run_id": run_id, "status": "ok",
                               **{k: v for k, v in row.items() if k != "run_id"}}
    started = time.perf_counter()
    try:
        papermill.execute_notebook(str(notebook), str(out / f"{run_id}.ipynb"), parameters=parameters,
                                   kernel_name=kernel_name, progress_bar=False)
    except PapermillExecutionError as error:
        summary.update(status="failed", error=f"{error.ename}: {error.evalue}")
    except (CellTimeoutError, DeadKernelError) as error:
        summary.update(status="failed", error=f"{type(error).__name__}: {error}")
    summary["seconds"] = round(time.perf_counter() - started, 1)
    if summary["status"] == "ok":
        results = json.loads(results_path.read_text())
        summary.update(flatten_metrics(results["metrics"]), device=results["device"]["type"],
                       resumed=results["resumed"], seconds_per_iteration=results["timings"]["seconds_per_iteration"])
    return summary


def write_summary(rows: list[dict[str, Any]], out: Path, overrides: Sequence[str]) -> None:
    """out/summary.csv (every column) and out/summary.md (the overrides and the key metrics)."""
    columns = list(dict.fromkeys(["run_id", "status", *overrides,
                                  *(k for row in rows for k in row if k != "error"), "error"]))
    with (out / "summary.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    (out / "summary.md").write_text(summary_markdown(rows, overrides))


def summary_markdown(rows: list[dict[str, Any]], overrides: Sequence[str]) -> str:
    present = {k for row in rows for k in row}
    metrics = [f"{m}_{d}" for d in ("AtoB", "BtoA") for m in SUMMARY_METRICS if f"{m}_{d}" in present]
    columns = ["run_id", "status", *overrides, *metrics, "seconds"]
    ok = sum(row["status"] == "ok" for row in rows)

    def cell(value: Any, column: str = "") -> str:
        number = ".0f" if column == "seconds" else ".4g"
        text = "" if value is None else format(value, number) if isinstance(value, float) else str(value)
        return " ".join(text.split()).replace("|", "/")  # one line, no column breaks

    lines = [f"# Graded runs: {ok} ok, {len(rows) - ok} failed", "",
             "Metrics per direction (AtoB: G, BtoA: F); `psnr_identity` scores doing nothing, the baseline to beat. "
             "An empty parameter cell keeps the notebook's default.", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c), c) for c in columns) + " |" for row in rows]
    failed = [row for row in rows if row["status"] != "ok"]
    if failed:
        lines += ["", "## Failed runs", ""]
        lines += [f"- **{row['run_id']}** ({row['run_id']}.ipynb): {cell(row['error'])}" for row in failed]
    return "\n".join(lines) + "\n"


def grade(grid: Path | str | list[dict[str, Any]], out: Path | str, notebook: Path | str | None = None,
          kernel_name: str | None = None, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run the notebook once per grid row, keep going past failures, write summary.csv and summary.md."""
    notebook = Path(notebook) if notebook else default_notebook()
    if not notebook.is_file():
        raise FileNotFoundError(f"No notebook at {notebook}: pass --notebook PATH.")
    known = notebook_parameters(notebook)
    is_csv = not isinstance(grid, list) and Path(grid).suffix.lower() == ".csv"
    rows = check_grid(grid if isinstance(grid, list) else read_grid(grid), known, csv_text=is_csv)
    overrides = [name for name in known if name != "run_id" and any(name in row for row in rows)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        log(f"[{number}/{len(rows)}] {row['run_id']} ...")
        summaries.append(run_one(notebook, out, row, kernel_name))
        last = summaries[-1]
        log(f"[{number}/{len(rows)}] {row['run_id']}: {last['status']} in {last['seconds']} s"
            + (f" ({last['error']})" if last["status"] != "ok" else ""))
        write_summary(summaries, out, overrides)  # after every run: an interrupted grading keeps its rows
    return summaries
