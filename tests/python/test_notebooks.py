"""The notebooks in notebooks/: committed without outputs, and every cell runs (nbclient, the
python3 kernel of this venv; a failing cell fails the test). They use only kfold's public API and
run on the shipped examples (random weights and the small config when no parameters are found)."""
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import SOURCE_DIR

NOTEBOOKS = SOURCE_DIR / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_notebooks_exist():
    assert {"01_quickstart.ipynb", "02_msa.ipynb", "03_agent.ipynb"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (name, cell.source[:60])


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, monkeypatch, kfold_module):
    monkeypatch.delenv("KFOLD_PARAMS", raising=False)  # the shipped example with random weights
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError naming the cell that failed
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    if name == "01_quickstart.ipynb":  # its complex: per-chain pLDDT, ipTM and interface PAE printed
        cell = next(c for c in notebook.cells if c.cell_type == "code" and "complex_msa" in c.source)
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "mean pLDDT: ubiquitin " in text and "ipTM " in text and "interface PAE" in text, text

