"""Run the notebooks and store them, with their outputs, as .ipynb beside the .py.

The jupytext percent scripts (``NAME.py``) are the source; each ``NAME.ipynb`` is
written from it, executed top to bottom in a fresh kernel, so that the two always
agree and the stored outputs are those of the current code.

    python notebooks/execute.py                     # every notebook
    python notebooks/execute.py notebooks/ch08_dqn.py

Needs ``pip install -e ".[notebooks]"``. Prints each notebook's run time.
"""
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 120  # per cell; each notebook is meant to run in well under a minute


def notebooks():
    """The percent scripts in this folder, in name order (this file excepted)."""
    return sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)


def execute(script, timeout=TIMEOUT_S, last_cell=None):
    """Execute ``script`` (a jupytext .py) in a fresh kernel; return the notebook.

    ``last_cell``: source of one more code cell to run at the end (the tests use it to
    read the kernel's CPU time); it is not part of the stored notebook.
    """
    notebook = jupytext.read(script)
    if last_cell is not None:
        notebook.cells.append(nbformat.v4.new_code_cell(last_cell))
    # Small networks run fastest on one BLAS thread, and the kernel draws figures inline.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("MPLBACKEND", None)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(script.parent)}})
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return notebook


def main(paths):
    for script in paths or notebooks():
        script = Path(script).resolve()
        start = time.perf_counter()
        notebook = execute(script)
        seconds = time.perf_counter() - start
        jupytext.write(notebook, script.with_suffix(".ipynb"), fmt="ipynb")
        nbformat.validate(notebook)
        print(f"{script.name}: {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
