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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_panel_displays_as_widget_with_an_html_listing_that_follows_the_widgets():
    from IPython.core.interactiveshell import InteractiveShell

    panel = AblationPanel(presets.quick())
    bundle, _ = InteractiveShell.instance().display_formatter.format(panel)
    assert bundle[WIDGET_VIEW]["model_id"] == panel.widget.model_id  # live JupyterLab still shows the widgets
    for name in ABLATION_SWITCHES:
        assert f"<td><code>{name}</code></td><td><code>{getattr(panel.config, name)}</code></td>" in bundle["text/html"]
        assert name in bundle["text/plain"]
    panel.controls["pool_size"].value = 7
    panel.controls["gan_loss"].value = "vanilla"
    html = panel._repr_mimebundle_()["text/html"]
    assert "<td><code>pool_size</code></td><td><code>7</code></td>" in html
    assert "<td><code>gan_loss</code></td><td><code>vanilla</code></td>" in html


PANEL_UNDER_IPYWIDGETS_7 = """
import ipywidgets
assert ipywidgets.__version__ == "7.7.1", ipywidgets.__file__
from IPython.core.interactiveshell import InteractiveShell
from cyclegan_edu import config
from cyclegan_edu.course.widgets import AblationPanel
panel = AblationPanel(config.quick())
bundle, _ = InteractiveShell.instance().display_formatter.format(panel)
assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.widget.model_id, bundle
assert "<code>cycle_weight</code>" in bundle["text/html"]
print("displayed")
"""


@pytest.fixture(scope="session")
def ipywidgets_7(tmp_path_factory):
    """Colab's ipywidgets 7.7.1 (and the ipython_genutils it imports) in a folder of its own, for PYTHONPATH."""
    import subprocess
    import sys

    target = tmp_path_factory.getbasetemp().parent / "ipywidgets-7.7.1"
    if not (target / "ipywidgets").is_dir():
        install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                                  str(target), "ipywidgets==7.7.1", "ipython_genutils==0.2.0"],
                                 capture_output=True, text=True)
        if install.returncode != 0:
            pytest.skip(f"pip could not install ipywidgets 7.7.1 (no package registry?): {install.stderr[-300:]}")
    return target


def test_panel_displays_under_colabs_ipywidgets_7(ipywidgets_7):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ipywidgets_7), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", PANEL_UNDER_IPYWIDGETS_7],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "displayed" in run.stdout, run.stderr[-2000:]


def test_colab_widget_manager_is_enabled_only_on_colab_with_ipywidgets_8(monkeypatch):
    import sys
    import types

    import ipywidgets

    from cyclegan_edu.course.environment import enable_colab_widgets

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not enable_colab_widgets()  # not on Colab
    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append(1))
    colab = types.ModuleType("google.colab")
    colab.output = output
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    monkeypatch.setattr(ipywidgets, "__version__", "7.7.1")
    assert not enable_colab_widgets() and calls == []  # Colab's own widgets need no manager
    monkeypatch.setattr(ipywidgets, "__version__", "8.1.5")
    assert enable_colab_widgets() and calls == [1]
