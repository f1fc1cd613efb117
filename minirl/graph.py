"""Draw the computation graph behind a Variable (DeZero's ``plot_dot_graph``).

``Function.__call__`` (``minirl/core.py``) records the graph as it computes: each output
Variable keeps its ``creator``, and each Function keeps its ``inputs`` and a weak
reference to its ``output``. Walking ``creator`` and ``inputs`` back from ``y`` visits
exactly what ``y.backward()`` will visit, so drawing that walk shows

* every op (a box) and every Variable (an ellipse) with its shape and dtype;
* which Variables take a gradient from ``y`` (orange: parameters and inputs that asked
  for one, light orange: intermediates on the way);
* where the graph is cut (grey, dashed): a constant -- an array mixed into the
  expression, a value computed under ``no_grad()``, or ``x.detach()`` -- records no
  history, so the gradient stops there.

A branch that ``detach()`` cut off can be drawn beside the graph (``also=``): the
detached constant shares its array with the Variable it came from, and a red dashed
edge marks the cut. The output is Graphviz DOT; ``.svg``, ``.png`` or ``.pdf`` are
rendered with Graphviz's ``dot`` program when it is installed.
"""
import shutil
import subprocess
from pathlib import Path

from minirl.core import Variable

__all__ = ["plot_graph", "to_dot"]

# Fill colours: what takes a gradient from the output, what does not.
_LEAF = "orange"          # a parameter or input that receives a gradient
_INNER = "moccasin"       # an intermediate result on the way back
_CONSTANT = "lightgrey"   # no gradient flows into or past it
_FUNCTION = "lightblue"
_UNREACHED = "white"      # drawn with ``also=``, but y's gradient never gets there

_LEGEND = ("orange: takes a gradient from the output (light: on the way); "
           "grey dashed: constant (data, no_grad, detach), the gradient stops; "
           "white: not reached; red dashed edge: detach cut")


def _label(v, verbose):
    name = v.name or ""
    if not verbose:
        return name.replace('"', '\\"')
    kind = type(v).__name__ if v.requires_grad else "constant"
    parts = [p for p in (name, f"{kind} {v.shape} {v.dtype}") if p]
    return "\\n".join(parts).replace('"', '\\"')


def _walk(roots):
    """Every Function and Variable behind ``roots``, as ``y.backward()`` would visit them.

    Returns the functions in the order found and the variables keyed by ``id``.
    """
    functions, variables, seen, stack = [], {}, set(), []
    for root in roots:
        variables[id(root)] = root
        if root.creator is not None:
            stack.append(root.creator)
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        functions.append(f)
        for x in f.inputs:
            variables[id(x)] = x
            if x.creator is not None:
                stack.append(x.creator)
    return functions, variables


def _reached(y):
    """The ids of the Variables that ``y.backward()`` gives a gradient."""
    reached, stack = set(), [y]
    while stack:
        v = stack.pop()
        if id(v) in reached or not v.requires_grad:
            continue
        reached.add(id(v))
        if v.creator is not None:
            stack.extend(v.creator.inputs)
    return reached


def to_dot(y, also=(), verbose=True):
    """The graph behind Variable ``y`` as Graphviz DOT text.

    ``also``: more Variables to draw beside it (a branch that ``detach()`` cut off);
    their nodes are white, since y's gradient does not reach them. ``verbose`` adds
    each Variable's kind, shape and dtype to its name.
    """
    if not isinstance(y, Variable):
        raise TypeError(f"plot_graph() draws a Variable, got {type(y).__name__}")
    roots = [y, *also]
    functions, variables = _walk(roots)
    reached = _reached(y)
    lines = ["digraph g {", "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=10];',
             f'  label="{_LEGEND}"; labelloc=b; fontsize=10; fontname="Helvetica";']
    for key, v in variables.items():
        if not v.requires_grad:
            style = f'fillcolor={_CONSTANT}, style="filled,dashed"'
        elif key not in reached:
            style = f'fillcolor={_UNREACHED}, style=filled'
        else:
            style = f'fillcolor={_LEAF if v.creator is None else _INNER}, style=filled'
        lines.append(f'  v{key} [label="{_label(v, verbose)}", shape=ellipse, {style}];')
    for f in functions:
        lines.append(f'  f{id(f)} [label="{type(f).__name__}", shape=box, '
                     f'fillcolor={_FUNCTION}, style=filled];')
        output = f.output()
        if output is not None and id(output) in variables:
            lines.append(f"  f{id(f)} -> v{id(output)};")
        for x in f.inputs:
            edge = ' [style=dashed, color=gray40]' if not x.requires_grad else ""
            lines.append(f"  v{id(x)} -> f{id(f)}{edge};")
    # detach() returns a constant that holds the very same array: link the two.
    by_array = {id(v.data): key for key, v in variables.items() if v.creator is not None}
    for key, v in variables.items():
        source = by_array.get(id(v.data))
        if not v.requires_grad and source is not None and source != key:
            lines.append(f'  v{source} -> v{key} [style=dashed, color=red, '
                         f'fontcolor=red, label="detach"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_graph(y, path, also=(), verbose=True):
    """Write the graph behind ``y`` to ``path``: DOT, or SVG/PNG/PDF through Graphviz.

    ``path`` ending in ``.dot`` (or ``.gv``) gets the DOT text alone. Any other suffix
    is passed to ``dot -T<suffix>``; the DOT text is kept beside it
    (``path.with_suffix('.dot')``), so it is there even where Graphviz is not.
    Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = to_dot(y, also=also, verbose=verbose)
    fmt = path.suffix.lstrip(".").lower()
    if fmt in ("dot", "gv"):
        path.write_text(text)
        return path
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(text)
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(
            f"rendering {path.name} needs Graphviz's `dot` program, which is not on the "
            f"PATH; install the `graphviz` package (apt-get install graphviz, "
            f"brew install graphviz or conda install graphviz). The DOT text was "
            f"written to {dot_path}.")
    subprocess.run([program, f"-T{fmt}", str(dot_path), "-o", str(path)],
                   check=True, capture_output=True)
    return path
