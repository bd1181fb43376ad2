"""The ablation runner: every variant is a valid config, and the study's files have the promised columns."""

import csv

import pytest

from cyclegan_edu import config as presets
from cyclegan_edu.ablation import BUDGETS, VARIANTS, run_ablation, variant_config
from cyclegan_edu.cli import main
from cyclegan_edu.config import ConfigError


def test_every_variant_switches_only_its_part():
    base = presets.paper()
    full = variant_config(base, "full", 0)
    assert full == base
    assert variant_config(base, "gan_alone", 0).forward_cycle is False
    assert variant_config(base, "cycle_alone", 0).adversarial is False
    assert variant_config(base, "cyclegan", 0).identity_weight == 0.0  # Table 4 has no identity term
    imagegan = variant_config(base, "imagegan", 5)
    assert imagegan.discriminator == "image" and imagegan.seed == 5
    assert len(VARIANTS) == 10


def test_the_cpu_study_keeps_the_batch_rate_and_step_docs_ablation_md_was_measured_with():
    study = presets.preset("quick", **BUDGETS["quick"])  # whatever the quick preset's own schedule
    assert (study.batch_size, study.lr, study.total_epochs * study.iterations_per_epoch) == (1, 2e-4, 400)
    assert not study.uses_fast_path and not study.data_on_device


def test_study_writes_csv_table_and_figure_and_reuses_finished_runs(toy_env, tmp_path):
    base = presets.smoke()
    rows = run_ablation(base, tmp_path, seeds=2, variants=["gan_alone", "full"], progress=False)
    with (tmp_path / "ablation.csv").open() as file:
        table = list(csv.DictReader(file))
    expected = [("gan_alone", "0"), ("gan_alone", "1"), ("full", "0"), ("full", "1")]
    assert [(r["variant"], r["seed"]) for r in table] == expected
    assert {"psnr_AtoB", "psnr_BtoA", "diversity_AtoB", "diversity_BtoA", "psnr_identity_AtoB"} <= set(table[0])
    assert "| gan_alone | 2 |" in (tmp_path / "ablation.md").read_text()
    assert (tmp_path / "ablation.png").stat().st_size > 0
    checkpoint = tmp_path / "runs" / "full_seed1" / "checkpoints" / "latest.pt"
    before = checkpoint.stat().st_mtime_ns
    again = run_ablation(base, tmp_path, seeds=2, variants=["gan_alone", "full"], progress=False)
    assert checkpoint.stat().st_mtime_ns == before  # reused, not retrained
    assert [r["psnr_AtoB"] for r in again] == [r["psnr_AtoB"] for r in rows]


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cyclegan"):
        run_ablation(presets.smoke(), tmp_path, variants=["cyclegan_plus"])
    with pytest.raises(SystemExit) as exit_info:
        main(["ablate", "--preset", "smoke", "--out", str(tmp_path), "--variants", "nope"])
    assert exit_info.value.code == 2


def test_a_study_stopped_mid_run_resumes_that_run(toy_env, tmp_path):
    from cyclegan_edu.ablation import variant_config
    from cyclegan_edu.training import Trainer

    base = presets.smoke()
    Trainer.start(variant_config(base, "full", 0), tmp_path / "runs" / "full_seed0", progress=False).train_epoch()
    rows = run_ablation(base, tmp_path, seeds=1, variants=["full"], progress=False)
    assert rows[0]["variant"] == "full" and "psnr_AtoB" in rows[0]
