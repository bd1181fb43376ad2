"""The per-epoch progress bar: `tqdm.auto`, whose notebook widget leaves a truthful line in a saved notebook.

In a notebook `tqdm.auto` draws an ipywidget, and a notebook saves a widget's output as the text the
widget had when it was first displayed: "epoch 1/6: 0%". So the bar here publishes the widget under a
display id and, when the epoch ends, publishes it once more with its final text ("epoch 1/6: 100% 6/6 ..."),
which JupyterLab, Colab, nbclient and papermill write over the first. The bundle is built here rather
than by the widget, because ipywidgets 7 displays a widget through `_ipython_display_`, which drops the
display id. Outside a notebook this is tqdm's own terminal bar.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm
from tqdm.notebook import tqdm_notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def widget_bundle(widget: Any, text: str) -> dict[str, Any]:
    """What a notebook stores for a widget: its view (live frontends) and a text fallback (everything else)."""
    return {"text/plain": text, WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}}


class ProgressBar(tqdm):
    """`tqdm.auto.tqdm` that, in a notebook, leaves its final state as the saved output (use with leave=True)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        in_notebook = issubclass(tqdm, tqdm_notebook) and not kwargs.get("disable")
        super().__init__(*args, **kwargs, **({"display": False} if in_notebook else {}))
        self.handle = None
        if in_notebook:
            from IPython.display import display

            self.handle = display(widget_bundle(self.container, repr(self.container)), raw=True, display_id=True)

    def close(self) -> None:
        super().close()
        if self.handle is not None:
            self.handle.update(widget_bundle(self.container, repr(self.container)), raw=True)
            self.handle = None
