"""Tests for the generated toy horse -> zebra dataset."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclegan_edu.data import toy_horse2zebra
from cyclegan_edu.data.toy_horse2zebra import (
    TOY_DATASET_NAME,
    TOY_DATASET_VERSION,
    animal_mask,
    build_toy_dataset,
    render,
    scenes_for_split,
    toy_dataset_root,
)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "data_scripts" / "make_toy_dataset.py"
SIZE, N_TRAIN, N_TEST = 64, 4, 3
FOLDERS = {"trainA": N_TRAIN, "trainB": N_TRAIN, "testA": N_TEST, "testB": N_TEST,
           "testA_truth": N_TEST, "testB_truth": N_TEST}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small dataset built once for the whole module."""
    return build_toy_dataset(tmp_path_factory.mktemp("toy") / "data", seed=0, size=SIZE, n_train=N_TRAIN, n_test=N_TEST)


def pixels(path: Path) -> np.ndarray:
    """An image file as an int array (H, W, 3)."""
    return np.asarray(Image.open(path), dtype=np.int16)


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, keyed by relative path."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_layout_and_counts(dataset: Path) -> None:
    assert sorted(p.name for p in dataset.iterdir()) == sorted([*FOLDERS, "README.txt"])
    for folder, count in FOLDERS.items():
        assert sorted(p.name for p in (dataset / folder).iterdir()) == [f"{i:06d}.png" for i in range(count)]
    assert not [p for p in dataset.parent.iterdir() if p != dataset], "staging folder left behind"


def test_images_are_rgb_pngs_of_the_right_size(dataset: Path) -> None:
    for path in dataset.rglob("*.png"):
        with Image.open(path) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (SIZE, SIZE))


def test_readme_records_settings_and_licence(dataset: Path) -> None:
    readme = (dataset / "README.txt").read_text(encoding="utf-8")
    assert readme.startswith(TOY_DATASET_NAME)
    for needle in ("seed: 0", f"size: {SIZE} x {SIZE}", f"trainA: {N_TRAIN}", f"testA: {N_TEST}", "CC0"):
        assert needle in readme


def test_same_seed_gives_identical_bytes_other_seed_differs(dataset: Path, tmp_path: Path) -> None:
    again = build_toy_dataset(tmp_path / "again", seed=0, size=SIZE, n_train=N_TRAIN, n_test=N_TEST)
    assert file_hashes(again) == file_hashes(dataset)
    other = file_hashes(build_toy_dataset(tmp_path / "other", seed=1, size=SIZE, n_train=N_TRAIN, n_test=N_TEST))
    assert all(other[name] != digest for name, digest in file_hashes(dataset).items())


def test_testA_truth_is_the_zebra_rendering_on_the_same_background(dataset: Path) -> None:
    for index, scene in enumerate(scenes_for_split(0, "testA", N_TEST)):
        name = f"{index:06d}.png"
        horse, truth = pixels(dataset / "testA" / name), pixels(dataset / "testA_truth" / name)
        assert np.array_equal(truth, np.asarray(render(scene, "B", SIZE)))
        mask = animal_mask(scene, SIZE)
        assert np.array_equal(horse[mask == 0], truth[mask == 0])
        assert np.abs(horse[mask == 1] - truth[mask == 1]).mean() > 40


def test_testB_truth_is_the_horse_rendering(dataset: Path) -> None:
    for index, scene in enumerate(scenes_for_split(0, "testB", N_TEST)):
        name = f"{index:06d}.png"
        assert np.array_equal(pixels(dataset / "testB" / name), np.asarray(render(scene, "B", SIZE)))
        assert np.array_equal(pixels(dataset / "testB_truth" / name), np.asarray(render(scene, "A", SIZE)))


def test_zebras_are_black_and_white_and_horses_brown(dataset: Path) -> None:
    for index, scene in enumerate(scenes_for_split(0, "testA", N_TEST)):
        inside = animal_mask(scene, SIZE) == 1
        horse = pixels(dataset / "testA" / f"{index:06d}.png")[inside]
        zebra = pixels(dataset / "testA_truth" / f"{index:06d}.png")[inside]
        red, green, blue = horse.T
        assert np.mean((red > green) & (green > blue) & (red - blue > 40)) > 0.95
        assert np.mean(zebra.max(axis=1) < 60) > 0.25, "too few near-black stripe pixels"
        assert np.mean(zebra.min(axis=1) > 200) > 0.25, "too few near-white stripe pixels"


def test_train_domains_are_unpaired(dataset: Path) -> None:
    zebras = [pixels(path) for path in sorted((dataset / "trainB").iterdir())]
    for scene in scenes_for_split(0, "trainA", N_TRAIN):
        as_zebra = np.asarray(render(scene, "B", SIZE))
        assert not any(np.array_equal(as_zebra, zebra) for zebra in zebras)


def test_animal_is_in_view_and_covers_a_fair_share_of_the_image() -> None:
    masks = [animal_mask(scene, SIZE) for scene in scenes_for_split(0, "trainA", 40)]
    coverage = [mask.mean() for mask in masks]
    assert 0.15 < np.mean(coverage) < 0.35
    assert 0.08 < min(coverage) and max(coverage) < 0.45
    for mask in masks:
        assert mask[[0, -1], :].max() == 0 and mask[:, [0, -1]].max() == 0, "animal touches the border"


@pytest.mark.parametrize("size", [0, 28, 30, 66])
def test_bad_size_is_rejected(size: int, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 4 and at least 32"):
        build_toy_dataset(tmp_path / "data", size=size, n_train=1, n_test=1)
    assert not (tmp_path / "data").exists()


def test_render_rejects_unknown_domain() -> None:
    with pytest.raises(ValueError, match="domain"):
        render(scenes_for_split(0, "testA", 1)[0], "C", SIZE)


def test_refuses_a_non_empty_foreign_folder(tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a complete toy dataset"):
        build_toy_dataset(out, size=32, n_train=1, n_test=1)
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_refuses_a_toy_dataset_with_other_settings(dataset: Path) -> None:
    with pytest.raises(FileExistsError, match="other settings"):
        build_toy_dataset(dataset, seed=1, size=SIZE, n_train=N_TRAIN, n_test=N_TEST)


def test_fills_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    root = build_toy_dataset(tmp_path / "data", size=32, n_train=1, n_test=1)
    assert len(list(root.rglob("*.png"))) == 6


def test_interrupted_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(toy_horse2zebra, "save_png", crash)
    with pytest.raises(KeyboardInterrupt):
        build_toy_dataset(tmp_path / "data", size=32, n_train=2, n_test=1)
    assert list(tmp_path.iterdir()) == []


def test_losing_a_build_race_returns_the_winners_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = file_hashes(build_toy_dataset(tmp_path / "reference", size=32, n_train=2, n_test=1))
    out = tmp_path / "data"
    write_dataset = toy_horse2zebra.write_dataset

    def rival_finishes_first(root: Path, settings: object) -> None:
        monkeypatch.setattr(toy_horse2zebra, "write_dataset", write_dataset)
        build_toy_dataset(out, size=32, n_train=2, n_test=1)
        write_dataset(root, settings)

    monkeypatch.setattr(toy_horse2zebra, "write_dataset", rival_finishes_first)
    assert build_toy_dataset(out, size=32, n_train=2, n_test=1) == out
    assert file_hashes(out) == reference
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "reference"]


def test_toy_dataset_root_builds_once_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYCLEGAN_EDU_CACHE", str(tmp_path))
    root = toy_dataset_root(seed=3, size=32)
    assert root == tmp_path / f"{TOY_DATASET_NAME}_v{TOY_DATASET_VERSION}_seed3_32px"
    assert len(list((root / "trainA").iterdir())) == 400 and len(list((root / "testB_truth").iterdir())) == 50

    def no_rebuild(*args: object) -> None:
        raise AssertionError("the dataset was rendered again")

    monkeypatch.setattr(toy_horse2zebra, "render", no_rebuild)
    monkeypatch.delenv("CYCLEGAN_EDU_CACHE")
    assert toy_dataset_root(seed=3, size=32, cache_dir=tmp_path) == root


def test_script_builds_a_dataset(tmp_path: Path) -> None:
    out = tmp_path / "data"
    command = [sys.executable, str(SCRIPT), "--out", str(out), "--size", "32", "--n-train", "2", "--n-test", "1",
               "--seed", "5"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert str(out) in result.stdout
    assert "seed: 5" in (out / "README.txt").read_text(encoding="utf-8")


def test_script_reports_a_bad_size_in_one_line_and_exits_2(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--out", str(tmp_path / "data"), "--size", "50"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "multiple of 4" in result.stderr
