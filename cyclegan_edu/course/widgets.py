"""The ablation panel of notebook 08: core ipywidgets that edit a Config, and do nothing else.

Section 5.1.4 (Table 4, Figure 7) switches terms of the full objective, Eq. 3, off one at a time:

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + lambda * L_cyc(G, F)

and Section 4 fixes the remaining choices (least-squares GAN loss, the 50-image history, the
70x70 PatchGAN). Each of them is one control here; `panel.config` always holds the current values.

The panel only edits: the cell after it trains with `panel.config` plainly, so a papermill run
equals a student run that left the widgets alone. Button callbacks never fire under papermill or
nbval, and `interact` swallows exceptions, so neither may carry the work.
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import Any

import ipywidgets as w

from cyclegan_edu.ablation import VARIANTS
from cyclegan_edu.config import ABLATION_SWITCHES, GAN_LOSSES, Config, ConfigError
from cyclegan_edu.patchgan import DISCRIMINATOR_KINDS
from cyclegan_edu.progress import widget_bundle

KEEP = "(as set below)"
HELP = {field.name: field.metadata.get("help", "") for field in dataclasses.fields(Config)}


def objective_text(config: Config) -> str:
    """The generators' objective the config trains, in the paper's symbols (Eq. 3 plus Section 5.2)."""
    terms = []
    if config.adversarial:
        terms.append(f"L_GAN(G, D_Y) + L_GAN(F, D_X) [{config.gan_loss}]")
    cycles = [name for name, on in (("forward", config.forward_cycle), ("backward", config.backward_cycle)) if on]
    if cycles and config.cycle_weight > 0:
        terms.append(f"{config.cycle_weight:g} * L_cyc({' + '.join(cycles)})")
    if config.identity_weight > 0:
        terms.append(f"{config.identity_weight * config.cycle_weight:g} * L_identity")
    return " + ".join(terms) if terms else "nothing: every term is off"


class AblationPanel:
    """Checkboxes, dropdowns and sliders for the ablation switches of a Config.

    `panel.controls[name]` is the widget of Config field `name` (see config.ABLATION_SWITCHES); changing its
    value replaces `panel.config` with a copy holding the new value. The "study variant" dropdown sets
    the switches of one variant of `cyclegan_edu.ablation.VARIANTS` (Table 4's rows and more).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        wide = {"description_width": "130px"}
        self.controls: dict[str, w.ValueWidget] = {
            "gan_loss": w.Dropdown(options=list(GAN_LOSSES), value=config.gan_loss, style=wide),
            "adversarial": w.Checkbox(value=config.adversarial, indent=True, style=wide),
            "forward_cycle": w.Checkbox(value=config.forward_cycle, indent=True, style=wide),
            "backward_cycle": w.Checkbox(value=config.backward_cycle, indent=True, style=wide),
            "cycle_weight": w.FloatSlider(value=config.cycle_weight, min=0.0, max=max(20.0, config.cycle_weight),
                                          step=0.5, style=wide),
            "identity_weight": w.FloatSlider(value=config.identity_weight, min=0.0,
                                             max=max(1.0, config.identity_weight), step=0.05, style=wide),
            "pool_size": w.IntSlider(value=config.pool_size, min=0, max=max(100, config.pool_size), style=wide),
            "discriminator": w.Dropdown(options=list(DISCRIMINATOR_KINDS), value=config.discriminator, style=wide),
        }
        for name, control in self.controls.items():
            control.description = name
            control.observe(lambda change, name=name: self.set(name, change["new"]), names="value")
        self.variant = w.Dropdown(options=[KEEP, *VARIANTS], value=KEEP, description="study variant", style=wide)
        self.variant.observe(lambda change: self.apply_variant(change["new"]), names="value")
        self.summary = w.HTML()
        rows = [w.HBox([control, w.HTML(f"<small>{HELP[name]}</small>")]) for name, control in self.controls.items()]
        self.widget = w.VBox([w.HTML("<b>Ablation switches</b> (Eq. 3, Section 5.1.4): they edit the config; "
                                     "the next cell trains with it."), self.variant, *rows, self.summary])
        self.refresh()

    def set(self, name: str, value: Any) -> None:
        """What every control's observer does: a new Config with one field replaced."""
        self.config = dataclasses.replace(self.config, **{name: value})
        self.refresh()

    def apply_variant(self, variant: str) -> None:
        """Set the controls to a study variant: the paper's switches, then the variant's changes."""
        if variant == KEEP:
            return
        values = {name: getattr(Config(), name) for name in ABLATION_SWITCHES} | VARIANTS[variant]
        for name, value in values.items():
            self.controls[name].value = value

    def refresh(self) -> None:
        try:
            self.config.validate()
            self.summary.value = f"<b>generators minimize</b> {objective_text(self.config)}"
        except ConfigError as error:  # shown, not hidden: the training cell raises it again
            self.summary.value = f"<span style='color:#b00'>{error}</span>"

    def text(self) -> str:
        """The switches as plain text: what a terminal, or a notebook viewer without widgets, shows."""
        lines = ["Ablation switches (Eq. 3, Section 5.1.4); a live notebook shows them as widgets:"]
        lines += [f"  {name:<16}{getattr(self.config, name)!s:<10}{HELP[name]}" for name in self.controls]
        return "\n".join([*lines, f"generators minimize: {objective_text(self.config)}"])

    def _repr_html_(self) -> str:
        """The switches as an HTML table: the static form a saved notebook keeps beside the widget view."""
        rows = "".join(f"<tr><td><code>{name}</code></td><td><code>{escape(str(getattr(self.config, name)))}</code>"
                       f"</td><td>{escape(HELP[name])}</td></tr>" for name in self.controls)
        return (f"<table><caption>Ablation switches (Eq. 3, Section 5.1.4)</caption>"
                f"<tr><th>switch</th><th>value</th><th>meaning</th></tr>{rows}</table>"
                f"<p><b>generators minimize</b> {escape(objective_text(self.config))}</p>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget view for a live notebook, with the HTML and text forms for everything that saves it.

        Built here, not asked of `self.widget`: ipywidgets 8 widgets have `_repr_mimebundle_`, but
        ipywidgets 7 (Colab's 7.7.1) ones display through `_ipython_display_` and have none.
        """
        return {**widget_bundle(self.widget, self.text()), "text/html": self._repr_html_()}
