"""Notebook 08 under papermill in smoke mode: results.json records the switches, and a rerun resumes."""

import json
from pathlib import Path

import nbformat
import papermill
import pytest
import torch

from cyclegan_edu.config import ABLATION_SWITCHES
from cyclegan_edu.course import run_plan

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "08_full_training.ipynb"
ABLATED = {"gan_loss": "vanilla", "backward_cycle": False, "identity_weight": 0.0, "pool_size": 0,
           "discriminator": "pixel", "cycle_weight": 5.0}


def execute(out: Path, run_id: str, **parameters) -> dict:
    """One papermill run into out/run_id.ipynb; returns its results.json."""
    results_path = out / run_id / "results.json"
    papermill.execute_notebook(str(NOTEBOOK), str(out / f"{run_id}.ipynb"), progress_bar=False,
                               parameters={"run_id": run_id, "checkpoint_dir": str(out / run_id / "run"),
                                           "results_path": str(results_path), "interactive": False, **parameters})
    return json.loads(results_path.read_text())


def global_step(out: Path, run_id: str) -> int:
    return torch.load(out / run_id / "run" / "checkpoints" / "latest.pt", weights_only=True)["global_step"]


@pytest.fixture(scope="module")
def runs(toy_cache, tmp_path_factory):
    """Three executions: default switches, ablated switches, and the ablated run once more."""
    out = tmp_path_factory.mktemp("notebook08")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYCLEGAN_EDU_CACHE", str(toy_cache))
        patch.setenv("CYCLEGAN_EDU_SMOKE", "1")
        default = execute(out, "default")
        ablated = execute(out, "ablated", **ABLATED)
        step = global_step(out, "ablated")
        again = execute(out, "ablated", **ABLATED)
    return {"out": out, "default": default, "ablated": ablated, "again": again, "step_before_rerun": step}


def test_results_record_the_paper_switches_by_default(runs):
    results = runs["default"]
    assert results["switches"] == {"gan_loss": "lsgan", "adversarial": True, "forward_cycle": True,
                                   "backward_cycle": True, "cycle_weight": 10.0, "identity_weight": 0.5,
                                   "pool_size": 50, "discriminator": "patch70"}
    assert results["resolved"] == {"preset": "smoke", "dataset": "toy", "smoke": True}
    assert results["run_id"] == "default" and results["resumed"] is False


def test_results_record_changed_switches_and_their_metrics(runs):
    results = runs["ablated"]
    assert results["switches"] == {**runs["default"]["switches"], **ABLATED}
    assert {name: results["parameters"][name] for name in ABLATED} == ABLATED
    assert results["config"]["backward_cycle"] is False and set(ABLATION_SWITCHES) <= set(results["config"])
    for direction in ("AtoB", "BtoA"):
        assert {"psnr", "psnr_identity", "l1", "ssim", "diversity"} <= set(results["metrics"][direction])
    assert results["metrics"] != runs["default"]["metrics"]  # another model was trained


def test_results_hold_timings_device_and_versions(runs):
    results = runs["default"]
    assert results["timings"]["seconds_per_iteration"] > 0 and results["timings"]["training_seconds"] > 0
    assert results["device"]["type"] == "cpu" and results["epochs_completed"] == 2
    assert set(results["versions"]) == {"cyclegan_edu", "torch", "python"}


def test_running_a_finished_run_again_resumes_instead_of_retraining(runs):
    again, first = runs["again"], runs["ablated"]
    assert again["resumed"] is True and first["resumed"] is False
    assert global_step(runs["out"], "ablated") == runs["step_before_rerun"] == again["global_step"]
    assert again["epochs_completed"] == first["epochs_completed"] and again["metrics"] == first["metrics"]
    assert again["timings"]["this_session_seconds"] < first["timings"]["this_session_seconds"]


def test_the_executed_notebook_shows_the_panel_and_one_plot_redrawn_in_place(runs):
    notebook = nbformat.read(runs["out"] / "default.ipynb", as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [output for cell in cells for output in cell.outputs]
    assert any("application/vnd.jupyter.widget-view+json" in output.get("data", {}) for output in outputs)
    training_cell = next(cell for cell in cells if "training.train(config, run_dir" in cell.source)
    images = [output for output in training_cell.outputs if "image/png" in output.get("data", {})]
    assert len(images) == 1  # two epochs, one figure: updated in place, not appended
    assert any("claims hold" in output.get("text", "") for output in outputs)


def test_epochs_0_is_the_notebooks_length_for_quick_and_the_papers_for_paper():
    parameters = dict(run_id="r", dataset="auto", data_root="datasets", preset="auto", epochs=0, image_size=0,
                      gan_loss="lsgan", adversarial=True, forward_cycle=True, backward_cycle=True, cycle_weight=10.0,
                      identity_weight=0.5, pool_size=50, discriminator="patch70", seed=0, checkpoint_dir="",
                      drive_folder="", resume=True, results_path="", interactive=False,
                      tensorboard=False)
    cpu = run_plan.plan_run(parameters, torch.device("cpu"), smoke=False).config
    assert cpu.total_epochs == run_plan.NOTEBOOK_EPOCHS["quick"] and (cpu.n_epochs, cpu.n_epochs_decay) == (1, 1)
    assert run_plan.plan_run(parameters, torch.device("cuda"), smoke=False).config.total_epochs == 200
    full = run_plan.plan_run({**parameters, "epochs": 6}, torch.device("cpu"), smoke=False).config
    assert (full.n_epochs, full.n_epochs_decay) == (3, 3)


def test_the_executed_notebook_lists_the_scalars_its_run_wrote_for_tensorboard(runs):
    pytest.importorskip("tensorboard")  # the notebook's switch is on only where the package is installed
    notebook = nbformat.read(runs["out"] / "default.ipynb", as_version=4)
    cell = next(cell for cell in notebook.cells if cell.cell_type == "code" and "EventAccumulator" in cell.source)
    text = "".join(output.get("text", "") for output in cell.outputs)
    assert "loss/G_total" in text and "lr" in text and "(one per epoch: 2)" in text
    assert (runs["out"] / "default" / "run" / "tensorboard").is_dir()
