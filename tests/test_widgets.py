"""Notebook helpers: the ablation panel only edits a Config; the training view redraws per epoch."""

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from cyclegan_edu import config as presets
from cyclegan_edu.config import ABLATION_SWITCHES
from cyclegan_edu.course.plots import LOSS_PANELS, SAMPLE_ROWS, TrainingView, figure_png
from cyclegan_edu.course.widgets import AblationPanel, objective_text
from cyclegan_edu.run_folder import RunFolder


def test_panel_starts_at_the_parameter_values():
    config = presets.preset("quick", gan_loss="vanilla", forward_cycle=False, cycle_weight=7.5, identity_weight=0.0,
                            pool_size=12, discriminator="pixel")
    panel = AblationPanel(config)
    assert set(panel.controls) == set(ABLATION_SWITCHES)
    values = {name: control.value for name, control in panel.controls.items()}
    assert values == {n: getattr(config, n) for n in ABLATION_SWITCHES}


def test_editing_a_widget_changes_the_config_and_nothing_else():
    original = presets.quick()
    panel = AblationPanel(original)
    panel.controls["backward_cycle"].value = False
    panel.controls["cycle_weight"].value = 5.0
    panel.controls["discriminator"].value = "patch16"
    changed = panel.config
    assert (changed.backward_cycle, changed.cycle_weight, changed.discriminator) == (False, 5.0, "patch16")
    assert changed.crop_size == original.crop_size and original.backward_cycle  # a new Config; the old is untouched


def test_a_large_parameter_widens_its_slider_instead_of_being_clipped():
    panel = AblationPanel(presets.preset("quick", cycle_weight=50.0, pool_size=200))
    assert panel.controls["cycle_weight"].value == 50.0 and panel.controls["pool_size"].value == 200


def test_study_variant_sets_the_switches_of_table4_rows():
    panel = AblationPanel(presets.preset("quick", gan_loss="vanilla"))
    panel.variant.value = "gan_alone"
    config = panel.config
    switches = (config.adversarial, config.forward_cycle, config.backward_cycle, config.identity_weight)
    assert switches == (True, False, False, 0.0)
    assert config.gan_loss == "lsgan"  # the rest back to the paper's values
    panel.variant.value = "cycle_alone"
    assert not panel.config.adversarial and panel.config.forward_cycle and panel.config.backward_cycle


def test_objective_text_names_the_active_terms():
    expected = "L_GAN(G, D_Y) + L_GAN(F, D_X) [lsgan] + 10 * L_cyc(forward + backward) + 5 * L_identity"
    assert objective_text(presets.paper()) == expected
    text = objective_text(presets.preset("quick", adversarial=False, backward_cycle=False, identity_weight=0.0))
    assert text == "10 * L_cyc(forward)"


def test_an_impossible_setting_is_shown_in_the_panel_not_raised():
    panel = AblationPanel(presets.preset("quick", identity_weight=0.0))
    for name in ("adversarial", "forward_cycle", "backward_cycle"):
        panel.controls[name].value = False
    assert "every loss term is switched off" in panel.summary.value


def test_training_view_adds_each_epoch_and_draws_the_latest_samples(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    Image.fromarray(np.zeros((6 * 34 + 2, 2 * 34 + 2, 3), np.uint8)).save(samples / "latest.png")
    record = {"epoch": 1, "lr": 2e-4, "G_gan_ab": 0.5, "G_gan_ba": 0.4, "cycle_a": 3.0, "cycle_b": 2.5,
              "identity_a": 1.0, "identity_b": 1.1, "G_total": 8.5, "D_a": 0.25, "D_b": 0.24,
              "seconds": 2.0, "seconds_per_iteration": 0.1}
    view = TrainingView()
    view.update(record, SimpleNamespace(folder=RunFolder(tmp_path)))
    view.update({**record, "epoch": 2}, SimpleNamespace(folder=RunFolder(tmp_path)))
    assert [row["epoch"] for row in view.history] == [1.0, 2.0]
    assert "epoch 2:" in view.status() and "100 ms per iteration" in view.status()
    figure = view.render()
    assert len(figure.axes) == len(LOSS_PANELS) + 1
    assert [t.get_text() for t in figure.axes[-1].get_yticklabels()] == list(SAMPLE_ROWS)
    assert figure_png(figure).startswith(b"\x89PNG")


def test_training_view_draws_without_samples_or_history():
    figure = TrainingView().render()
    assert len(figure.axes) == len(LOSS_PANELS)
    assert TrainingView().status() == "no epoch finished yet"


@pytest.mark.parametrize("name", ["adversarial", "forward_cycle", "backward_cycle"])
def test_each_checkbox_is_a_config_bool(name):
    panel = AblationPanel(presets.quick())
    panel.controls[name].value = False
    assert getattr(panel.config, name) is False
