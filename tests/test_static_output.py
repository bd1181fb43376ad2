"""What a saved (or papermill-run) notebook keeps: the final line of each progress bar, the panel's switches
as HTML beside its widget view, and the metrics as an HTML table."""

import re

import nbformat
from nbclient import NotebookClient

from cyclegan_edu.evaluation import metrics_table

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "from cyclegan_edu import config, training\n"
    "from cyclegan_edu.course.widgets import AblationPanel\n"
    "from cyclegan_edu.evaluation import metrics_table",
    "training.train(config.smoke(), 'run', progress=True);",
    "AblationPanel(config.smoke())",
    "metrics_table({'AtoB': {'psnr': 20.5, 'psnr_identity': 18.0}})",
]


def test_a_saved_notebook_keeps_final_bars_the_panel_and_an_html_table(toy_env, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    _, train_cell, panel_cell, table_cell = notebook.cells
    bars = [output.data for output in train_cell.outputs if output.output_type == "display_data"]
    assert [re.match(r"epoch (\d)/2", bar["text/plain"]).group(1) for bar in bars] == ["1", "2"]  # one per epoch
    for bar in bars:
        assert WIDGET_VIEW in bar  # the live widget in a notebook with its state
        assert "100%" in bar["text/plain"] and "6/6" in bar["text/plain"], bar["text/plain"]
        assert not re.search(r"(?<!\d)0%", bar["text/plain"]), bar["text/plain"]  # not the first state, 0%
    (panel,) = panel_cell.outputs
    assert WIDGET_VIEW in panel.data and "<code>pool_size</code>" in panel.data["text/html"]
    assert not panel.data["text/plain"].startswith("VBox(")
    (table,) = table_cell.outputs
    assert table.data["text/html"].startswith("<table>") and "psnr" in table.data["text/plain"]


def test_metrics_table_is_html_in_a_notebook_and_the_cli_text_elsewhere():
    table = metrics_table({"AtoB": {"psnr": 20.5, "psnr_identity": 18.0, "diversity": 0.1, "features": "tiny"}})
    html = table._repr_html_()
    assert "<th>direction</th><th>metric</th><th>model</th><th>do nothing</th>" in html
    assert "<tr><td>AtoB</td><td>psnr</td><td>20.5000</td><td>18.0000</td></tr>" in html
    assert "<tr><td>AtoB</td><td>diversity</td><td>0.1000</td><td></td></tr>" in html
    assert str(table).splitlines()[1].split() == ["AtoB", "psnr", "20.5000", "18.0000"]
