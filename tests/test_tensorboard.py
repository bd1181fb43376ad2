"""The optional TensorBoard copy of a run's logs: the numbers of losses.csv, once per epoch, even across a resume."""

import sys

import numpy as np
import pytest

from cyclegan_edu import config as presets
from cyclegan_edu.cyclegan import LOSS_NAMES
from cyclegan_edu.run_folder import RunFolder
from cyclegan_edu.tensorboard_log import SAMPLES_TAG, TensorBoardMissing, tag
from cyclegan_edu.training import Trainer, resume, train

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def read_events(run: RunFolder) -> EventAccumulator:
    return EventAccumulator(str(run.tensorboard), size_guidance={"scalars": 0, "images": 0}).Reload()


def assert_mirrors_losses_csv(run: RunFolder) -> None:
    """Every column of every losses.csv line but `epoch` is a scalar at step = epoch, rounded to float32."""
    history, events = run.read_history(), read_events(run)
    epochs = [int(row["epoch"]) for row in history]
    for column in history[0]:
        if column == "epoch":
            continue
        logged = events.Scalars(tag(column))
        assert [event.step for event in logged] == epochs, column
        assert [event.value for event in logged] == [float(np.float32(row[column])) for row in history], column
    assert [image.step for image in events.Images(SAMPLES_TAG)] == epochs


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def logged_run(toy_cache, tmp_path_factory) -> dict:
    """A smoke run (2 epochs of 3 steps here) with tensorboard on, killed between epoch 2's log lines and its
    checkpoint, then resumed: the resume trains and logs epoch 2 again, in a second event file."""
    out = tmp_path_factory.mktemp("tensorboard") / "run"
    save = Trainer.save_checkpoint

    def save_unless_epoch_2_is_done(trainer: Trainer) -> None:
        if trainer.position.epoch == 3:
            raise Killed
        save(trainer)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYCLEGAN_EDU_CACHE", str(toy_cache))
        patch.setattr(Trainer, "save_checkpoint", save_unless_epoch_2_is_done)
        trainer = Trainer.start(presets.preset("smoke", iterations_per_epoch=3, tensorboard=True), out, progress=False)
        with pytest.raises(Killed):
            trainer.run()
        trainer.tensorboard.close()
        before = [event.step for event in read_events(RunFolder(out)).Scalars("loss/G_total")]
        patch.setattr(Trainer, "save_checkpoint", save)
        resume(out, progress=False)
    return {"run": RunFolder(out), "steps_before_resume": before}


def test_the_scalars_are_the_numbers_of_losses_csv_epoch_by_epoch(logged_run):
    assert_mirrors_losses_csv(logged_run["run"])
    tags = read_events(logged_run["run"]).Tags()["scalars"]
    assert {f"loss/{name}" for name in LOSS_NAMES} | {"lr", "time/seconds_per_iteration"} <= set(tags)


def test_each_epochs_sample_grid_is_the_png_of_the_run_folder(logged_run):
    from PIL import Image

    image = read_events(logged_run["run"]).Images(SAMPLES_TAG)[-1]
    with Image.open(logged_run["run"].sample_grid(2)) as png:
        assert (image.width, image.height) == png.size


def test_a_resumed_run_shows_each_epoch_once(logged_run):
    """Epoch 2 was logged before the kill and again by the resume; the resumed session's event file starts
    with a restart at epoch 2, which hides the first file's epoch 2, as losses.csv drops its line."""
    run = logged_run["run"]
    assert logged_run["steps_before_resume"] == [1, 2]
    assert len(list(run.tensorboard.glob("events.out.tfevents.*"))) == 2  # one file per session
    assert [int(row["epoch"]) for row in run.read_history()] == [1, 2]
    assert_mirrors_losses_csv(run)  # epoch 2 once, with the resumed session's numbers


def test_a_missing_package_is_one_clear_error_before_any_file_is_written(toy_env, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    with pytest.raises(TensorBoardMissing, match="pip install tensorboard"):
        train(presets.preset("smoke", tensorboard=True), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_off_no_tensorboard_folder_and_a_resume_may_turn_it_on(toy_env, tmp_path):
    assert "tensorboard" in presets.RESUME_OVERRIDES  # it changes what is logged, not the weights
    trainer = Trainer.start(presets.preset("smoke", iterations_per_epoch=2), tmp_path, progress=False)
    trainer.train_epoch()
    trainer.finish_epoch()
    run = RunFolder(tmp_path)
    assert run.losses.exists() and not run.tensorboard.exists()
    resume(tmp_path, progress=False, tensorboard=True)
    assert [event.step for event in read_events(run).Scalars("lr")] == [2]  # what this session trained
