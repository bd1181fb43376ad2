"""Notebook 08's view of the ablation study: the committed table read back, fetched when not beside the package."""

import csv

from cyclegan_edu import ablation
from cyclegan_edu.course import table4

ROWS = [{"variant": "cyclegan", "seed": 0, "psnr_AtoB": 12.0, "diversity_AtoB": 0.7},
        {"variant": "cyclegan", "seed": 1, "psnr_AtoB": 14.0, "diversity_AtoB": 0.6},
        {"variant": "gan_alone", "seed": 0, "psnr_AtoB": 11.0, "diversity_AtoB": 0.4}]


def write_study(folder):
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "ablation.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=[*ROWS[0], "seconds"])
        writer.writeheader()
        writer.writerows({**row, "seconds": 30.5} for row in ROWS)
    (folder / "ablation.png").write_bytes(b"\x89PNG not really")
    return folder


def test_the_repository_docs_are_used_where_they_are(tmp_path):
    docs = write_study(tmp_path / "docs")
    assert table4.committed_study(tmp_path / "cache", docs=docs) == docs
    assert not (tmp_path / "cache").exists()


def test_the_committed_study_beside_this_checkout_is_found(tmp_path):
    folder = table4.committed_study(tmp_path / "cache")
    rows = table4.read_study(folder)
    assert {row["variant"] for row in rows} == set(ablation.VARIANTS) and (folder / "ablation.png").is_file()


def test_without_docs_the_study_is_fetched_once(tmp_path, mirror):
    served = write_study(tmp_path / "served")
    for name in table4.STUDY_FILES:
        mirror.files[f"/docs/{name}"] = (served / name).read_bytes()
    for _ in range(2):
        folder = table4.committed_study(tmp_path / "cache", docs=tmp_path / "missing", url=mirror.url("/docs/"))
    assert folder == tmp_path / "cache" and table4.read_study(folder)[0]["variant"] == "cyclegan"
    assert sorted(mirror.paths()) == ["/docs/ablation.csv", "/docs/ablation.png"]  # the second call fetched nothing


def test_rows_read_back_with_numbers_as_numbers(tmp_path):
    rows = table4.read_study(write_study(tmp_path))
    assert rows[1] == {**ROWS[1], "seconds": 30.5} and isinstance(rows[1]["seed"], int)


def test_the_table_holds_each_variants_mean_and_spread_of_the_chosen_columns():
    table = table4.study_table(ROWS, ("diversity_AtoB",))
    assert table.splitlines()[0] == "| variant | seeds | diversity_AtoB |"
    assert "| cyclegan | 2 | 0.650 ± 0.050 |" in table and "| gan_alone | 1 | 0.400 ± 0.000 |" in table


def test_variant_means_average_over_seeds():
    assert table4.variant_means(ROWS, "psnr_AtoB") == {"cyclegan": 13.0, "gan_alone": 11.0}


def test_the_side_by_side_has_the_studys_budget_or_the_smoke_presets():
    quick = table4.side_by_side_base(smoke=False, seed=2)
    budget = ablation.BUDGETS["quick"]
    assert (quick.crop_size, quick.seed) == (64, 2)
    assert quick.total_epochs * quick.iterations_per_epoch == (budget["n_epochs"] + budget["n_epochs_decay"]) * \
        budget["iterations_per_epoch"]
    assert table4.side_by_side_base(smoke=True, seed=2).crop_size == 32


def test_smoke_side_by_sides_never_land_where_real_ones_are_reused(tmp_path):
    assert table4.side_by_side_folder(tmp_path, smoke=False) == tmp_path / "table4_quick"
    first, second = (table4.side_by_side_folder(tmp_path, smoke=True) for _ in range(2))
    assert first != second and tmp_path not in first.parents and not any(first.iterdir())
