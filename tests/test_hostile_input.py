"""Clumsy and hostile input: nothing of the user's is lost, divergence keeps a good checkpoint, every
user error is one line that says what to do, photos come the right way up.

Each class is tried with several inputs; the grids (nothing executes) and the downloads (nothing
bad is kept) have their own files.
"""

import hashlib
import os
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
from PIL import Image

from cyclegan_edu import config as presets
from cyclegan_edu.cli import main
from cyclegan_edu.course.publish import publish
from cyclegan_edu.data.image_folders import DataError, find_images, load_rgb
from cyclegan_edu.data.toy_horse2zebra import toy_dataset_root
from cyclegan_edu.errors import UnreadableCheckpoint, WouldOverwrite
from cyclegan_edu.official import load_official_generator
from cyclegan_edu.run_folder import RunFolder
from cyclegan_edu.training import RunFolderError, Trainer, TrainingDiverged, resume, train
from cyclegan_edu.translation import translate_images

SPLITS = ("trainA", "trainB", "testA", "testB")


def folder_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root`: a folder "unchanged" is one with the same hashes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def small_dataset(root: Path, per_split: int = 3) -> Path:
    """A copy of the first `per_split` images of each split of the toy set (no ground truth)."""
    toy = toy_dataset_root()
    for split in SPLITS:
        (root / split).mkdir(parents=True)
        for path in sorted((toy / split).glob("*.png"))[:per_split]:
            shutil.copy(path, root / split / path.name)
    return root


def one_line_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    error = capsys.readouterr().err
    assert stopped.value.code in (1, 2) and len(error.strip().splitlines()) == 1, error
    assert "Traceback" not in error
    return error


@pytest.fixture(scope="module")
def finished_run(toy_cache, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYCLEGAN_EDU_CACHE", str(toy_cache))
        train(presets.smoke(), out, progress=False)
    return out


# ---- nothing of the user's is lost ------------------------------------------------------------------
@pytest.fixture
def photos(toy_env, tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in sorted((toy_dataset_root() / "testA").glob("*.png"))[:2]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.mark.parametrize("source", ["folder", "file"])
def test_translate_never_writes_onto_its_inputs(finished_run, photos, source):
    before = folder_hashes(photos)
    given = photos if source == "folder" else next(photos.glob("*.png"))
    for overwrite in (False, True):  # not even when asked to overwrite
        with pytest.raises(WouldOverwrite, match="replace the input"):
            translate_images(RunFolder(finished_run).latest, given, photos, overwrite=overwrite)
    assert folder_hashes(photos) == before


def test_translate_refuses_two_inputs_that_map_to_one_name(finished_run, photos, tmp_path):
    first = next(photos.glob("*.png"))
    Image.open(first).save(first.with_suffix(".jpg"))
    with pytest.raises(WouldOverwrite, match="both be written"):
        translate_images(RunFolder(finished_run).latest, photos, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_translate_keeps_existing_outputs_unless_asked(finished_run, photos, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    kept = out / next(photos.glob("*.png")).name
    kept.write_bytes(b"a student's earlier result")
    checkpoint = str(RunFolder(finished_run).latest)
    error = one_line_error(capsys, ["translate", "--checkpoint", checkpoint, "--input", str(photos),
                                    "--output", str(out)])
    assert "--overwrite" in error and kept.read_bytes() == b"a student's earlier result"
    assert main(["translate", "--checkpoint", checkpoint, "--input", str(photos), "--output", str(out),
                 "--overwrite"]) == 0
    assert kept.read_bytes().startswith(b"\x89PNG")


def test_publishing_keeps_a_students_notebook(tmp_path, capsys):
    source, destination = tmp_path / "solutions", tmp_path / "class"
    source.mkdir()
    destination.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), source / "01_a.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(2 + 2)")]), source / "02_b.ipynb")
    work = destination / "02_b.ipynb"
    work.write_text("a student's notebook")
    error = one_line_error(capsys, ["publish", "--source", str(source), "--out", str(destination)])
    assert "02_b.ipynb" in error and "--overwrite" in error and work.read_text() == "a student's notebook"
    assert not (destination / "01_a.ipynb").exists()  # refused before anything was written
    assert len(publish(source, destination, only=["02"], overwrite=True)) == 1
    assert nbformat.read(work, as_version=4).cells[0].outputs[0].text == "4\n"
    assert len(publish(source, destination)) == 2  # what publish wrote itself it replaces without asking


def test_resume_refuses_a_checkpoint_of_another_run_and_changes_nothing(finished_run, toy_env, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(finished_run, other)
    RunFolder(other).write_record({"run_id": "someone-elses-run", "config": {}, "resume_overrides": []})
    (other / "checkpoints" / ".latest.pt.x.tmp").write_bytes(b"half")
    before = folder_hashes(other)
    with pytest.raises(RunFolderError, match="belongs to another run"):
        resume(other, progress=False)
    assert folder_hashes(other) == before


@pytest.mark.parametrize("leftover", ["losses.csv", "run.json", "checkpoints/latest.pt"])
def test_train_refuses_a_folder_that_holds_any_file_of_a_run(tmp_path, capsys, leftover):
    (tmp_path / leftover).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / leftover).write_text("an earlier run's")
    error = one_line_error(capsys, ["train", "--preset", "smoke", "--out", str(tmp_path), "--quiet"])
    assert "already holds a run" in error and (tmp_path / leftover).read_text() == "an earlier run's"


def test_a_killed_write_leaves_no_temporary_file_once_resumed(finished_run, toy_env, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    partial = run / "checkpoints" / ".latest.pt.k1lled.tmp"
    partial.write_bytes(b"half a checkpoint")
    Trainer.resume(run, progress=False)
    assert not partial.exists() and RunFolder(run).has_checkpoint()


# ---- divergence keeps a good checkpoint; resume can recover --------------------------------------------
def all_floating_tensors(state) -> list[torch.Tensor]:
    if isinstance(state, dict):
        return [t for value in state.values() for t in all_floating_tensors(value)]
    if isinstance(state, (list, tuple)):
        return [t for value in state for t in all_floating_tensors(value)]
    return [state] if torch.is_tensor(state) and state.is_floating_point() else []


@pytest.mark.parametrize("every", [1, 0])  # a checkpoint after every step; at the end of each epoch only
def test_a_divergence_keeps_a_finite_checkpoint_and_resume_recovers_with_a_lower_lr(toy_env, tmp_path, every):
    run = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match=r"--lr") as stopped:
        train(presets.preset("smoke", lr=float("inf"), checkpoint_every=every), run, progress=False)
    assert "cyclegan-edu resume" in str(stopped.value)
    saved = RunFolder(run).load_checkpoint()
    assert all(bool(torch.isfinite(t).all()) for t in all_floating_tensors(saved["model"]))
    metrics = resume(run, progress=False, lr=2e-4)
    assert all(v == v for scores in metrics.values() for v in scores.values() if isinstance(v, float))
    record = RunFolder(run).read_record()
    assert record["config"]["lr"] == 2e-4 and record["resume_overrides"][0]["lr"] == 2e-4
    assert RunFolder(run).load_checkpoint()["config"]["lr"] == 2e-4


def test_resume_takes_a_moved_data_folder_and_refuses_other_changes(toy_env, tmp_path, capsys):
    data, run = small_dataset(tmp_path / "data"), tmp_path / "run"
    trainer = Trainer.start(presets.preset("smoke", data=str(data)), run, progress=False)
    trainer.save_checkpoint()
    data.rename(tmp_path / "moved")
    error = one_line_error(capsys, ["resume", str(run), "--quiet"])
    assert "does not exist" in error
    with pytest.raises(RunFolderError, match="crop_size cannot change"):
        resume(run, progress=False, crop_size=64)
    assert main(["resume", str(run), "--quiet", "--data", str(tmp_path / "moved")]) == 0
    assert RunFolder(run).read_record()["config"]["data"] == str(tmp_path / "moved")


# ---- no user error ends in a traceback ------------------------------------------------------------------
def malicious_pickle(path: Path, marker: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    torch.save({"model": Payload()}, path)


@pytest.mark.parametrize("content", ["empty", "truncated", "text", "code"])
def test_unreadable_checkpoints_are_one_line_and_never_run_code(finished_run, toy_env, tmp_path, capsys, content):
    run, marker = tmp_path / "run", tmp_path / "pwned"
    shutil.copytree(finished_run, run)
    latest = RunFolder(run).latest
    if content == "empty":
        latest.write_bytes(b"")
    elif content == "truncated":
        latest.write_bytes(latest.read_bytes()[:5000])
    elif content == "text":
        latest.write_text("<html>not a checkpoint</html>")
    else:
        malicious_pickle(latest, marker)
    for argv in (["resume", str(run)], ["evaluate", str(run)],
                 ["translate", "--checkpoint", str(latest), "--input", str(run), "--output", str(tmp_path / "o")]):
        error = one_line_error(capsys, argv)
        assert str(latest) in error and "weights_only=False" not in error
    with pytest.raises(UnreadableCheckpoint):
        load_official_generator(latest)
    assert not marker.exists()


def test_images_pillow_refuses_name_the_file(tmp_path, monkeypatch):
    image = tmp_path / "huge.png"
    Image.new("RGB", (64, 64)).save(image)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64 x 64 is then a "decompression bomb"
    with pytest.raises(DataError, match="huge.png.*too large"):
        load_rgb(image)
    for name, content in (("empty.jpg", b""), ("text.png", b"hello"), ("half.png", image.read_bytes()[:40])):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(DataError, match=name):
            load_rgb(tmp_path / name)


@pytest.mark.parametrize("argv, message", [
    (["train", "--preset", "smoke", "--out", "{file}"], "is a file"),
    (["train", "--preset", "smoke", "--out", "{tmp}/run", "--data", "{file}"], "is a file"),
    (["evaluate", "{tmp}", "--device", "nonsense"], "not a device name"),
    (["bench", "--device", "cuda:7"], "CUDA"),
])
def test_bad_places_and_devices_are_one_line(tmp_path, capsys, argv, message):
    file = tmp_path / "a_file"
    file.write_text("x")
    error = one_line_error(capsys, [a.format(tmp=tmp_path, file=file) for a in argv])
    assert message in error


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_device_cuda_without_a_gpu_says_what_to_do(toy_env, tmp_path, capsys):
    error = one_line_error(capsys, ["train", "--preset", "smoke", "--out", str(tmp_path / "run"), "--device", "cuda"])
    assert "no CUDA GPU" in error and "--device auto" in error


def test_a_domain_folder_that_is_a_file_says_so(toy_env, tmp_path, capsys):
    data = small_dataset(tmp_path / "data")
    shutil.rmtree(data / "trainB")
    (data / "trainB").write_text("not a folder")
    error = one_line_error(capsys, ["train", "--preset", "smoke", "--out", str(tmp_path / "run"), "--data", str(data)])
    assert "trainB is a file" in error


def test_one_image_per_domain_trains_and_reports_without_crashing(toy_env, tmp_path, capsys):
    data = small_dataset(tmp_path / "data", per_split=1)
    assert main(["train", "--preset", "smoke", "--out", str(tmp_path / "run"), "--data", str(data), "--quiet"]) == 0
    assert "no diversity (one test image)" in capsys.readouterr().out


def test_unreadable_files_stop_training_unless_skipped_from_the_command_line(toy_env, tmp_path, capsys):
    data = small_dataset(tmp_path / "data")
    (data / "trainA" / "broken.png").write_bytes(b"not a png")
    (data / "testB" / "broken.png").write_bytes(b"not a png")
    error = one_line_error(capsys, ["train", "--preset", "smoke", "--out", str(tmp_path / "a"), "--data", str(data)])
    assert "broken.png" in error and "--skip-unreadable" in error
    with pytest.warns(UserWarning, match="broken.png"):
        assert main(["train", "--preset", "smoke", "--out", str(tmp_path / "b"), "--data", str(data), "--quiet",
                     "--skip-unreadable"]) == 0


def test_system_metadata_files_are_ignored(toy_env, tmp_path):
    data = small_dataset(tmp_path / "data")
    for junk in ("trainA/._00000.png", "trainA/.DS_Store", "trainB/Thumbs.db", "testA/__MACOSX/x.png",
                 "__MACOSX/trainA/y.png", "trainB/.hidden/z.png"):
        (data / junk).parent.mkdir(parents=True, exist_ok=True)
        (data / junk).write_bytes(b"\x00\x05\x16\x07 resource fork, not an image")
    assert [p.name for p in find_images(data / "trainA")] == [p.name for p in sorted((data / "trainA").glob("0*.png"))]
    assert len(find_images(data / "testA")) == 3
    train(presets.preset("smoke", data=str(data)), tmp_path / "run", progress=False)


# ---- photos the right way up ------------------------------------------------------------------------------
@pytest.mark.parametrize("orientation, size", [(1, (40, 20)), (3, (40, 20)), (6, (20, 40)), (8, (20, 40))])
def test_exif_orientation_is_applied(tmp_path, orientation, size):
    photo = Image.new("RGB", (40, 20), (200, 30, 30))
    photo.paste((30, 30, 200), (0, 0, 10, 20))  # blue on the stored image's left
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.jpg"
    photo.save(path, exif=exif, quality=95)
    loaded = load_rgb(path)
    assert loaded.size == size
    corner = {1: (2, 10), 3: (37, 10), 6: (10, 2), 8: (10, 37)}[orientation]  # where the blue band went
    assert loaded.getpixel(corner)[2] > 150


@pytest.mark.parametrize("argv", [
    ["grade", "--grid", "{repo}/examples/ablation_grid.yaml", "--out", "{file}"],
    ["ablate", "--preset", "smoke", "--out", "{file}", "--seeds", "1", "--variants", "full"],
    ["download", "horse2zebra", "--root", "{file}", "--mirror", "http://127.0.0.1:9"],
    ["prepare", "{tmp}/a", "{tmp}/b", "{file}/out"],
    ["publish", "--source", "{repo}/notebooks/solutions", "--out", "{file}"],
    ["evaluate", "{run}", "--json", "{file}/evaluation.json"],
])
def test_a_file_where_a_folder_is_needed_is_one_line(finished_run, toy_env, tmp_path, capsys, argv):
    file, repo = tmp_path / "a_file", Path(__file__).resolve().parents[1]
    file.write_text("a user's file")
    for domain in ("a", "b"):
        small_dataset(tmp_path / domain, per_split=2)
    error = one_line_error(capsys, [a.format(file=file, repo=repo, tmp=tmp_path, run=finished_run) for a in argv])
    assert str(file) in error and file.read_text() == "a user's file"
