"""Preparing a user's own folders: RGB PNGs in the layout, bad files reported, nothing overwritten."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cyclegan_edu.data.image_folders import DataError, UnalignedDataset
from cyclegan_edu.data.prepare_folders import prepare_custom_dataset

SCRIPT = Path(__file__).resolve().parents[1] / "data_scripts" / "prepare_custom_dataset.py"


def user_folders(tmp_path):
    a, b = tmp_path / "horses", tmp_path / "zebras"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    for i in range(10):
        Image.new("L", (80, 60), i * 20).save(a / "sub" / f"h{i}.jpg")
        Image.new("RGBA", (60, 80), (i, 2, 3, 100)).save(b / f"z{i}.png")
    (a / "broken.jpg").write_text("not a picture")
    return a, b


def test_folders_become_an_rgb_layout_that_trains(tmp_path):
    a, b = user_folders(tmp_path)
    result = prepare_custom_dataset(a, b, tmp_path / "out", test_fraction=0.2, size=48)
    assert result.counts == {"trainA": 8, "testA": 2, "trainB": 8, "testB": 2}
    assert [p.name for p, _ in result.skipped] == ["broken.jpg"]
    image = Image.open(next((tmp_path / "out" / "trainB").iterdir()))
    assert image.mode == "RGB" and min(image.size) == 48
    assert len(UnalignedDataset(tmp_path / "out", load_size=36, crop_size=32)) == 8
    assert (a / "broken.jpg").exists() and len(list(a.rglob("*.jpg"))) == 11  # originals untouched


def test_too_few_images_fails_and_leaves_nothing_behind(tmp_path):
    a, b = user_folders(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="at least 2"):
        prepare_custom_dataset(a, empty, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "horses", "zebras"]


def test_a_non_empty_output_folder_is_never_overwritten(tmp_path):
    a, b = user_folders(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        prepare_custom_dataset(a, b, tmp_path / "out")
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep me"


def test_script_reports_skipped_files_and_bad_arguments(tmp_path):
    a, b = user_folders(tmp_path)
    ok = subprocess.run([sys.executable, str(SCRIPT), str(a), str(b), str(tmp_path / "out")],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "skipped" in ok.stdout and "broken.jpg" in ok.stdout
    bad = subprocess.run([sys.executable, str(SCRIPT), str(a), str(b), str(tmp_path / "o2"), "--size", "30"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "multiple of 4" in bad.stderr and "Traceback" not in bad.stderr


def test_a_killed_preparation_leaves_nothing_behind_once_run_again(tmp_path):
    a, b = user_folders(tmp_path)
    stale = tmp_path / ".out.partial-k1lled"
    (stale / "trainA").mkdir(parents=True)
    (stale / "trainA" / "half.png").write_bytes(b"half")
    prepare_custom_dataset(a, b, tmp_path / "out")
    assert not stale.exists() and not list(tmp_path.glob(".out.partial-*"))
