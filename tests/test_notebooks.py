"""The notebooks: one per chapter, paired .py/.ipynb that agree, each runs in a minute.

The stored notebooks are checked with the standard library alone (quick, in every run).
Executing them and comparing the jupytext pairs need the ``notebooks`` extra and take
minutes, so those tests are marked ``docs`` and run in the second command of .ci/run
(``pytest -m docs``); they skip, naming the package, only where it is missing.
"""
import importlib.util
import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# One per chapter (the tabular chapters one each), and the engine built from zero.
EXPECTED = ["engine_from_zero", "ch01_bandits", "ch04_dynamic_programming",
            "ch05_monte_carlo", "ch06_td", "ch07_qnet", "ch08_dqn",
            "ch09_policy_gradient", "ch10_beyond_dqn", "ch08_pixels"]
TIME_LIMIT_S = 60


def stored(name):
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())


def code_cells(notebook):
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def source(cell):
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def test_every_chapter_has_a_paired_notebook():
    scripts = {p.stem for p in NOTEBOOKS.glob("*.py") if p.name != "execute.py"}
    assert scripts == set(EXPECTED)
    for name in EXPECTED:
        assert (NOTEBOOKS / f"{name}.ipynb").exists(), f"{name}.ipynb is missing"
        formats = stored(name)["metadata"]["jupytext"]["formats"]
        assert formats == "ipynb,py:percent", name


@pytest.mark.parametrize("name", EXPECTED)
def test_first_code_cell_installs_minirl_in_colab_only(name):
    first = source(code_cells(stored(name))[0])
    assert '"google.colab" in sys.modules' in first
    assert "pip" in first and "install" in first and "minirl" in first


@pytest.mark.parametrize("name", EXPECTED)
def test_stored_with_outputs_of_a_full_run_and_a_figure(name):
    cells = code_cells(stored(name))
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{name}: not one run top to bottom"
    outputs = [o for c in cells for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"], name
    figures = {"image/png", "image/svg+xml"}
    kinds = {kind for o in outputs for kind in o.get("data", {})}
    assert kinds & figures, f"{name} shows no figure"
    # A cell that draws (plt.show(), or a minirl.plot Figure as its last line) shows it.
    for cell in cells:
        lines = source(cell).strip().splitlines()
        if "plt.show()" in lines or lines[-1].startswith("plot_"):
            shown = {k for o in cell["outputs"] for k in o.get("data", {})}
            assert shown & figures, f"{name}: no figure under {lines[-1]!r}"


def needs(module):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed: pip install -e '.[notebooks]'")


@pytest.mark.docs
@pytest.mark.parametrize("name", EXPECTED)
def test_jupytext_pair_agrees(name):
    """The .ipynb holds exactly the cells of the .py (run notebooks/execute.py)."""
    needs("jupytext")
    import jupytext

    script = jupytext.read(NOTEBOOKS / f"{name}.py")
    notebook = stored(name)
    ours = [(c.cell_type, c.source.strip()) for c in script.cells]
    theirs = [(c["cell_type"], source(c).strip()) for c in notebook["cells"]]
    assert ours == theirs, f"{name}.py and {name}.ipynb differ: run notebooks/execute.py"


def execute_module():
    path = NOTEBOOKS / "execute.py"
    spec = importlib.util.spec_from_file_location("notebooks_execute", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The kernel's own CPU seconds (user + system, all its threads), printed by a last cell.
CPU_TIME = "import os\nt = os.times()\nprint(t.user + t.system)"


@pytest.mark.docs
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_top_to_bottom_within_a_minute(name):
    """It runs without an error, and its kernel needs under a minute of CPU.

    CPU time rather than wall-clock: on a machine shared with other work the
    wall-clock of the same run varies threefold, its CPU time hardly at all. On an
    idle 2-core machine the two are about equal (one BLAS thread).
    """
    for module in ("jupytext", "nbclient", "ipykernel"):
        needs(module)
    start = time.perf_counter()
    notebook = execute_module().execute(NOTEBOOKS / f"{name}.py", timeout=2 * TIME_LIMIT_S,
                                        last_cell=CPU_TIME)
    seconds = time.perf_counter() - start
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    cpu = float(notebook.cells[-1].outputs[0]["text"])
    print(f"{name}: {cpu:.1f} s of CPU, {seconds:.1f} s wall-clock")
    assert cpu < TIME_LIMIT_S, f"{name} used {cpu:.0f} s of CPU"
