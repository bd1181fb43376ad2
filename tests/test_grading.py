"""Notebook 08's parameters resolved into a run, grids of graded runs, and `cyclegan-edu grade`."""

import csv
import json
from pathlib import Path

import pytest
import torch

from cyclegan_edu import config as presets
from cyclegan_edu import tensorboard_log
from cyclegan_edu.cli import main
from cyclegan_edu.config import ConfigError
from cyclegan_edu.course import grading, run_plan
from cyclegan_edu.course.grading import (
    GridError,
    check_grid,
    default_notebook,
    flatten_metrics,
    notebook_parameters,
    read_grid,
    summary_markdown,
)
from cyclegan_edu.course.run_plan import RUN_PARAMETERS, check_same_run, plan_run, run_name

REPO = Path(__file__).resolve().parents[1]
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(scope="module")
def defaults():
    return notebook_parameters(default_notebook())


def test_the_notebook_has_exactly_the_run_parameters(defaults):
    assert tuple(defaults) == RUN_PARAMETERS


def test_auto_is_the_paper_run_on_a_gpu_and_quick_on_a_cpu(defaults):
    gpu = plan_run(defaults, CUDA, smoke=False)
    assert (gpu.preset, gpu.dataset, gpu.download) == ("paper", "horse2zebra", "horse2zebra")
    assert gpu.config.data == str(Path("datasets") / "horse2zebra") and gpu.config.total_epochs == 200
    assert gpu.config.crop_size == 256
    cpu = plan_run(defaults, CPU, smoke=False)
    assert (cpu.preset, cpu.dataset, cpu.download, cpu.config.data) == ("quick", "toy", None, "")
    assert cpu.config == presets.preset("quick", n_epochs=1, n_epochs_decay=1,  # run_plan.NOTEBOOK_EPOCHS
                                        tensorboard=tensorboard_log.available())


def test_smoke_takes_the_smoke_preset_but_keeps_switches_and_seed(defaults):
    plan = plan_run({**defaults, "preset": "paper", "epochs": 200, "image_size": 256, "dataset": "horse2zebra",
                     "backward_cycle": False, "seed": 3}, CUDA, smoke=True)
    smoke = presets.smoke()
    assert (plan.preset, plan.dataset, plan.config.data) == ("smoke", "toy", "")
    assert (plan.config.crop_size, plan.config.total_epochs) == (smoke.crop_size, smoke.total_epochs)
    assert plan.config.backward_cycle is False and plan.config.seed == 3


def test_epochs_split_half_constant_half_decaying_and_size_keeps_the_paper_ratio(defaults):
    config = plan_run({**defaults, "epochs": 7, "image_size": 128}, CPU, smoke=False).config
    assert (config.n_epochs, config.n_epochs_decay) == (4, 3)
    assert (config.crop_size, config.load_size, config.toy_image_size) == (128, 143, 128)
    paper = plan_run({**defaults, "preset": "paper", "image_size": 256}, CPU, smoke=False).config
    assert paper.load_size == 286


def test_a_folder_dataset_is_used_as_is_and_a_bad_value_is_one_clear_error(defaults, tmp_path):
    assert plan_run({**defaults, "dataset": str(tmp_path)}, CPU, smoke=False).config.data == str(tmp_path)
    with pytest.raises(ConfigError, match="gan_loss='wgan'"):
        plan_run({**defaults, "gan_loss": "wgan"}, CPU, smoke=False)
    with pytest.raises(ConfigError, match="unknown"):
        plan_run({**defaults, "lambda": 3}, CPU, smoke=False)


def test_run_folders_are_named_by_what_differs_so_a_switch_starts_a_new_run(defaults):
    plan = plan_run(defaults, CPU, smoke=False)
    assert plan.run_folder(plan.config) == Path("runs") / "my_run" / "quick-toy__n_epochs=1__n_epochs_decay=1"
    ablated = presets.preset("quick", backward_cycle=False, identity_weight=0.0)
    assert run_name(ablated, "quick", "toy") == "quick-toy__no_backward_cycle__identity_weight=0.0"
    explicit = plan_run({**defaults, "checkpoint_dir": "here", "results_path": "r.json"}, CPU, smoke=False)
    assert explicit.run_folder(ablated) == Path("here") and explicit.results_file(Path("here")) == Path("r.json")
    assert plan.results_file(Path("x")) == Path("x") / "results.json"


def test_resuming_a_folder_of_other_settings_is_refused(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    torch.save({"config": presets.quick().to_dict()}, tmp_path / "checkpoints" / "latest.pt")
    check_same_run(presets.quick(), tmp_path)
    with pytest.raises(ConfigError, match="cycle_weight: saved 10.0, asked 5.0"):
        check_same_run(presets.preset("quick", cycle_weight=5.0), tmp_path)


def test_the_tensorboard_switch_neither_names_the_run_folder_nor_stops_a_resume(defaults, tmp_path):
    logged = presets.preset("quick", tensorboard=True)
    assert run_name(logged, "quick", "toy") == run_name(presets.quick(), "quick", "toy") == "quick-toy"
    (tmp_path / "checkpoints").mkdir()
    torch.save({"config": presets.quick().to_dict()}, tmp_path / "checkpoints" / "latest.pt")
    check_same_run(logged, tmp_path)


def test_the_notebook_turns_tensorboard_on_only_where_the_package_is_installed(defaults, monkeypatch):
    assert defaults["tensorboard"] is True
    monkeypatch.setattr(run_plan, "tensorboard_available", lambda: True)
    assert plan_run(defaults, CPU, smoke=False).config.tensorboard is True
    assert plan_run({**defaults, "tensorboard": False}, CPU, smoke=False).config.tensorboard is False
    monkeypatch.setattr(run_plan, "tensorboard_available", lambda: False)
    assert plan_run(defaults, CPU, smoke=False).config.tensorboard is False


def test_grids_read_from_yaml_lists_mappings_and_csv(tmp_path):
    (tmp_path / "list.yaml").write_text("- run_id: a\n  seed: 1\n- run_id: b\n")
    (tmp_path / "map.yml").write_text("defaults:\n  epochs: 2\nruns:\n  - run_id: a\n  - run_id: b\n    epochs: 4\n")
    (tmp_path / "runs.csv").write_text("run_id,adversarial,cycle_weight\na,false,5\nb,,\n")
    assert read_grid(tmp_path / "list.yaml") == [{"run_id": "a", "seed": 1}, {"run_id": "b"}]
    assert read_grid(tmp_path / "map.yml") == [{"epochs": 2, "run_id": "a"}, {"epochs": 4, "run_id": "b"}]
    assert read_grid(tmp_path / "runs.csv") == [{"run_id": "a", "adversarial": "false", "cycle_weight": "5"},
                                                {"run_id": "b"}]
    (tmp_path / "bad.yaml").write_text("run_id: a\n")
    with pytest.raises(GridError, match="expected a list of runs"):
        read_grid(tmp_path / "bad.yaml")


def test_csv_text_is_typed_like_the_notebook_defaults(defaults):
    row = {"run_id": "a", "adversarial": "false", "cycle_weight": "5", "epochs": "3", "gan_loss": "vanilla"}
    rows = check_grid([row], defaults, csv_text=True)
    assert rows == [{"run_id": "a", "adversarial": False, "cycle_weight": 5.0, "epochs": 3, "gan_loss": "vanilla"}]
    with pytest.raises(GridError, match="adversarial='maybe'"):
        check_grid([{"run_id": "a", "adversarial": "maybe"}], defaults, csv_text=True)


@pytest.mark.parametrize("rows, message", [
    ([{"run_id": "a"}, {"run_id": "a"}], "must be unique"),
    ([{"run_id": "../escape"}], "must be unique and made of"),
    ([{"seed": 1}], "run_id ''"),
    ([{"run_id": "a", "lamda": 3}], "unknown parameter"),
    ([{"run_id": "a", "results_path": "x"}], "set by the grader"),
    ([], "no runs"),
])
def test_a_bad_grid_is_refused_before_any_run(defaults, rows, message):
    with pytest.raises(GridError, match=message):
        check_grid(rows, defaults)


def test_the_example_grid_holds_the_ablations_of_table4(defaults):
    rows = check_grid(read_grid(REPO / "examples" / "ablation_grid.yaml"), defaults)
    by_id = {row["run_id"]: row for row in rows}
    assert set(by_id) == {"full", "cyclegan", "cycle_alone", "gan_alone", "gan_forward", "gan_backward"}
    assert by_id["cycle_alone"]["adversarial"] is False
    assert not by_id["gan_alone"]["forward_cycle"] and not by_id["gan_alone"]["backward_cycle"]
    assert all(row["identity_weight"] == 0.0 for run_id, row in by_id.items() if run_id != "full")


def test_metrics_flatten_to_name_direction_numbers_only():
    metrics = {"AtoB": {"psnr": 20.5, "features": "inception"}, "BtoA": {"l1": 0.1}}
    assert flatten_metrics(metrics) == {"psnr_AtoB": 20.5, "l1_BtoA": 0.1}


def test_summary_markdown_counts_and_lists_failures():
    rows = [{"run_id": "a", "status": "ok", "seed": 1, "psnr_AtoB": 21.23456, "seconds": 3.0},
            {"run_id": "b", "status": "failed", "seed": 2, "seconds": 1.0, "error": "ConfigError: bad\nvalue | x"}]
    text = summary_markdown(rows, ["seed"])
    assert text.startswith("# Graded runs: 1 ok, 1 failed")
    assert "| a | ok | 1 | 21.23 | 3 |" in text and "- **b** (b.ipynb): ConfigError: bad value / x" in text


def test_grade_runs_each_row_and_reports_a_failure_without_stopping(toy_env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CYCLEGAN_EDU_SMOKE", "1")
    grid = tmp_path / "grid.yaml"
    grid.write_text("- run_id: broken\n  gan_loss: wgan\n- run_id: no_backward\n  backward_cycle: false\n")
    out = tmp_path / "graded"
    assert main(["grade", "--grid", str(grid), "--out", str(out)]) == 0
    assert "1 ok, 1 failed: broken" in capsys.readouterr().out
    with (out / "summary.csv").open() as file:
        rows = {row["run_id"]: row for row in csv.DictReader(file)}
    assert rows["broken"]["status"] == "failed" and "gan_loss='wgan'" in rows["broken"]["error"]
    assert rows["no_backward"]["status"] == "ok" and rows["no_backward"]["error"] == ""
    assert float(rows["no_backward"]["psnr_AtoB"]) > 0 and rows["no_backward"]["backward_cycle"] == "False"
    results = json.loads((out / "no_backward" / "results.json").read_text())
    assert results["switches"]["backward_cycle"] is False and results["run_id"] == "no_backward"
    assert not (out / "broken" / "results.json").exists() and (out / "broken.ipynb").is_file()
    assert "1 ok, 1 failed" in (out / "summary.md").read_text()


def test_grade_without_a_notebook_says_to_pass_one(tmp_path, monkeypatch, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text("- run_id: a\n")
    with pytest.raises(SystemExit) as stopped:
        main(["grade", "--grid", str(grid), "--out", str(tmp_path / "o"), "--notebook", str(tmp_path / "none.ipynb")])
    assert stopped.value.code == 1 and "--notebook PATH" in capsys.readouterr().err
    monkeypatch.setattr(grading, "__file__", str(tmp_path / "site-packages" / "cyclegan_edu" / "course" / "grading.py"))
    with pytest.raises(FileNotFoundError, match="pass --notebook PATH"):
        default_notebook()


def test_real_data_without_inception_weights_gives_diversity_and_no_failure(toy_env, tmp_path, monkeypatch):
    from cyclegan_edu.cyclegan import CycleGAN
    from cyclegan_edu.data import downloads
    from cyclegan_edu.data.toy_horse2zebra import toy_dataset_root

    toy = toy_dataset_root(cache_dir=toy_env)
    for split in ("testA", "testB"):  # "real" data: no *_truth folders
        (tmp_path / "data" / split).mkdir(parents=True)
        for path in sorted((toy / split).glob("*.png"))[:3]:
            (tmp_path / "data" / split / path.name).write_bytes(path.read_bytes())
    model = CycleGAN(generator_blocks=1, generator_width=4, discriminator="pixel", discriminator_width=4)
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    torch.save({"model": {"networks": model.state_dict()}}, tmp_path / "run" / "checkpoints" / "latest.pt")

    def offline(*args, **kwargs):
        raise downloads.DownloadError("no internet here")
    monkeypatch.setattr(downloads, "download_inception_weights", offline)
    config = presets.preset("smoke", data=str(tmp_path / "data"))
    metrics, note = run_plan.evaluate_run(tmp_path / "run", config, {}, CPU, tmp_path / "weights")
    assert note.startswith("diversity only") and "Inception" in note
    assert set(metrics) == {"AtoB", "BtoA"} and set(metrics["AtoB"]) == {"diversity"}
    # the diversity a finished training run already measured is reused, not measured again
    reused, note = run_plan.evaluate_run(tmp_path / "no_such_run", config, metrics, CPU, tmp_path / "weights")
    assert reused == metrics and note.startswith("diversity only")
