"""The command line: every config field settable, one-line errors, the main job's outputs."""

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from cyclegan_edu.cli import build_parser, config_from_args, main
from cyclegan_edu.config import PLAIN_STEP, Config
from cyclegan_edu.data.toy_horse2zebra import toy_dataset_root


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cyclegan_edu", *args], capture_output=True, text=True, env=env)


def test_help_lists_every_config_field_with_its_paper_default():
    text = " ".join(run_cli("train", "--help").stdout.split())
    for name, value in Config().to_dict().items():
        flag = "--" + name.replace("_", "-")
        assert flag in text, flag
    assert "(paper: 10.0)" in text and "(paper: 'lsgan')" in text and "None" not in text


def test_options_override_the_preset():
    args = build_parser().parse_args(["train", "--preset", "quick", "--out", "x", "--cycle-weight", "5",
                                      "--no-backward-cycle", "--gan-loss", "vanilla"])
    config = config_from_args(args)
    assert (config.cycle_weight, config.backward_cycle, config.gan_loss) == (5.0, False, "vanilla")
    assert config.crop_size == 64  # the rest from the quick preset


def test_plain_step_turns_the_quick_presets_speed_switches_off_and_options_still_win():
    quick = config_from_args(build_parser().parse_args(["train", "--preset", "quick", "--out", "x"]))
    assert quick.batched_passes and quick.data_on_device and (quick.batch_size, quick.lr) == (4, 8e-4)
    plain = config_from_args(build_parser().parse_args(["train", "--preset", "quick", "--out", "x", "--plain-step"]))
    assert dataclasses.replace(quick, **PLAIN_STEP) == plain and not plain.uses_fast_path
    line = ["train", "--preset", "quick", "--out", "x", "--plain-step", "--batched-passes"]
    mixed = config_from_args(build_parser().parse_args(line))
    assert mixed.batched_passes and not mixed.data_on_device


@pytest.mark.parametrize("args, message", [
    (["--gan-loss", "wgan"], "gan_loss='wgan': choose lsgan or vanilla"),
    (["--crop-size", "30"], "crop_size=30 must be a multiple of 4"),
    (["--pool-size", "-3"], "pool_size=-3 must be 0 or more"),
])
def test_a_bad_value_gets_one_line_not_a_traceback(tmp_path, args, message):
    result = run_cli("train", "--out", str(tmp_path / "run"), *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"cyclegan-edu: error: {message}"] or message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_type_error_is_caught_by_argparse(tmp_path):
    result = run_cli("train", "--out", str(tmp_path), "--lr", "fast")
    assert result.returncode == 2 and "invalid float value: 'fast'" in result.stderr


def test_missing_data_folder_is_one_line(tmp_path):
    result = run_cli("train", "--preset", "smoke", "--out", str(tmp_path / "run"), "--data", str(tmp_path / "none"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "does not exist" in result.stderr


def test_train_smoke_then_resume_and_translate(toy_env, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "smoke", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "AtoB: PSNR" in printed and "do nothing" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    for direction in ("AtoB", "BtoA"):
        assert set(metrics[direction]) >= {"psnr", "psnr_identity", "l1", "l1_identity"}
    assert main(["resume", str(out), "--quiet"]) == 0
    test_images = toy_dataset_root(cache_dir=toy_env) / "testB"
    assert main(["translate", "--checkpoint", str(out / "checkpoints" / "latest.pt"), "--input", str(test_images),
                 "--output", str(tmp_path / "translated"), "--direction", "BtoA"]) == 0
    assert len(list((tmp_path / "translated").glob("*.png"))) == len(list(test_images.glob("*.png")))
    assert main(["evaluate", str(out)]) == 0
    evaluation = json.loads((out / "checkpoints" / "evaluation.json").read_text())
    assert evaluation["AtoB"]["psnr"] == pytest.approx(metrics["AtoB"]["psnr"], rel=1e-5)
    assert "diversity" in evaluation["BtoA"] and "do nothing" in capsys.readouterr().out


def test_smoke_env_makes_smoke_the_default_preset(monkeypatch):
    monkeypatch.setenv("CYCLEGAN_EDU_SMOKE", "1")
    args = build_parser().parse_args(["train", "--out", "x"])
    assert args.preset == "smoke"


def test_bench_prints_both_paths_and_ends_with_the_speedup(capsys):
    assert main(["bench", "--size", "64", "--device", "cpu", "--steps", "1", "--warmup", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.strip().startswith("plain:") for line in lines)
    assert any(line.strip().startswith("fast:") for line in lines)
    assert re.fullmatch(r"speedup: \d+\.\d\d", lines[-1])
    assert "GFLOP per step" in "\n".join(lines)


def test_bench_switches_given_on_the_line_are_exactly_the_fast_path(monkeypatch):
    from cyclegan_edu import bench
    calls = []
    monkeypatch.setattr(bench, "run_benchmark", lambda *args, **kwargs: calls.append(kwargs["switches"]) or 1.0)
    main(["bench", "--device", "cpu", "--batched-passes", "--precision", "bf16"])
    main(["bench", "--device", "cpu"])
    assert calls == [{"batched_passes": True, "precision": "bf16"}, None]


def test_the_run_report_shows_psnr_where_there_is_truth_and_diversity_always(tmp_path):
    from cyclegan_edu.training import run_report
    assert "AtoB: diversity 0.42" in run_report(tmp_path, {"AtoB": {"diversity": 0.42}})
    metrics = {"BtoA": {"psnr": 20.0, "psnr_identity": 14.0, "l1": 0.1, "l1_identity": 0.2, "diversity": 0.8}}
    assert "PSNR 20.00 dB (do nothing: 14.00 dB)" in run_report(tmp_path, metrics)


@pytest.mark.parametrize("command", [
    ["download", "nosuch"],
    ["download", "--pretrained", "nosuch"],
    ["download"],
    ["resume", "{tmp}/no_run"],
    ["evaluate", "{tmp}/no_run"],
    ["translate", "--checkpoint", "{tmp}/none.pt", "--input", "{tmp}", "--output", "{tmp}/out"],
    ["prepare", "{tmp}/no_a", "{tmp}/no_b", "{tmp}/out"],
    ["publish", "--source", "{tmp}", "--out", "{tmp}/published"],
    ["publish", "--only", "99"],
    ["ablate", "--out", "{tmp}/study", "--seeds", "0"],
])
def test_every_user_error_is_one_line_that_says_what_to_do(tmp_path, capsys, command):
    with pytest.raises(SystemExit) as stopped:
        main([part.format(tmp=tmp_path) for part in command])
    error = capsys.readouterr().err
    assert stopped.value.code in (1, 2)
    assert error.startswith("cyclegan-edu: error: ") and len(error.strip().splitlines()) == 1, error
