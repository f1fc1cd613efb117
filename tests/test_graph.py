"""plot_graph: the drawn graph is the one backward() walks, cut where no gradient flows."""
import re
import shutil

import numpy as np
import pytest

import minirl
import minirl.functions as F
from minirl import Variable, no_grad
from minirl.graph import plot_graph, to_dot

NODE = re.compile(r'^\s*(\w+) \[label="([^"]*)", shape=(\w+), fillcolor=(\w+), '
                  r'style="?([\w,]+)"?\];$', re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)( \[[^\]]*\])?;$", re.M)


def parse(dot):
    """{node id: (label, shape, fill, style)} and [(tail, head, attributes)]."""
    nodes = {m[1]: (m[2], m[3], m[4], m[5]) for m in NODE.finditer(dot)}
    edges = [(m[1], m[2], m[3] or "") for m in EDGE.finditer(dot)]
    return nodes, edges


def node_of(nodes, v):
    return nodes[f"v{id(v)}"]


def test_ops_shapes_and_edges_of_a_small_expression():
    x = Variable(np.ones((3, 2), np.float32), "x")
    y = x * x + np.float32(2.0)  # Mul, then Add with a constant
    y.name = "y"
    nodes, edges = parse(to_dot(y))
    functions = sorted(label for label, shape, *_ in nodes.values() if shape == "box")
    assert functions == ["Add", "Mul"]
    assert node_of(nodes, x)[0] == "x\\nVariable (3, 2) float32"
    assert node_of(nodes, x)[2] == "orange"          # a leaf that takes a gradient
    assert node_of(nodes, y)[2] == "moccasin"        # an intermediate on the way
    constants = [n for n in nodes.values() if n[2] == "lightgrey"]
    assert len(constants) == 1 and "dashed" in constants[0][3]
    assert constants[0][0] == "constant () float32"
    # x feeds Mul twice (x * x): two edges, as Mul.inputs holds it twice.
    mul = next(k for k, n in nodes.items() if n[0] == "Mul")
    assert [t for t, h, _ in edges if h == mul] == [f"v{id(x)}", f"v{id(x)}"]
    # The constant's edge is dashed; every edge joins two drawn nodes.
    assert all(t in nodes and h in nodes for t, h, _ in edges)
    assert [a for t, h, a in edges if nodes[t][2] == "lightgrey"] == [
        " [style=dashed, color=gray40]"]


def test_a_target_built_under_no_grad_is_a_leaf_constant():
    w = Variable(np.array([0.5, -1.0]), "w")
    with no_grad():
        target = F.sum(w * 3.0)  # nothing recorded
    loss = (F.sum(w) - target) ** 2
    nodes, edges = parse(to_dot(loss))
    assert node_of(nodes, target)[2] == "lightgrey"
    assert not any(h == f"v{id(target)}" for _, h, _ in edges)  # no history behind it
    assert sorted(n[0] for n in nodes.values() if n[1] == "box") == ["Pow", "Sub", "Sum"]


def test_colours_match_what_backward_reaches_and_detach_is_drawn_as_a_cut():
    rng = np.random.default_rng(0)
    theta = Variable(rng.standard_normal((3, 2)), "theta")
    theta_target = Variable(rng.standard_normal((3, 2)), "theta_target")
    s = rng.standard_normal((4, 3))
    q = F.sum(s @ theta, axis=1)
    y = F.max(s @ theta_target, axis=1)       # a branch built with the graph on
    y_cut = y.detach()
    loss = F.mean_squared_error(q, y_cut)
    dot = to_dot(loss, also=[y])
    nodes, edges = parse(dot)

    loss.backward(retain_grad=True)
    walked = [v for v in (theta, theta_target, q, y, y_cut, loss)]
    for v in walked:
        fill = node_of(nodes, v)[2]
        took_gradient = v.grad is not None
        assert (fill in ("orange", "moccasin")) == took_gradient, (v.name, fill)
    assert node_of(nodes, theta_target)[2] == "white"  # drawn, but not reached
    assert node_of(nodes, y_cut)[2] == "lightgrey"
    cuts = [(t, h) for t, h, a in edges if "color=red" in a]
    assert cuts == [(f"v{id(y)}", f"v{id(y_cut)}")]


def test_plot_graph_writes_dot_and_renders_svg(tmp_path):
    x = Variable(np.arange(3.0), "x")
    y = F.sum(F.exp(x))
    assert plot_graph(y, tmp_path / "g.dot").read_text() == to_dot(y)
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    svg = plot_graph(y, tmp_path / "g.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">Exp</text>" in svg and ">Sum</text>" in svg
    assert (tmp_path / "g.dot").exists()
    png = plot_graph(y, tmp_path / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_graphviz_names_the_package_and_keeps_the_dot(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    x = Variable(np.ones(2), "x")
    with pytest.raises(RuntimeError, match=r"`graphviz` package") as error:
        plot_graph(F.sum(x), tmp_path / "g.svg")
    assert "g.dot" in str(error.value)
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_rejects_what_is_not_a_variable(tmp_path):
    with pytest.raises(TypeError, match="draws a Variable"):
        plot_graph(np.ones(3), tmp_path / "g.dot")


def test_exported_from_the_package():
    assert minirl.plot_graph is plot_graph


def test_the_docs_figure_shows_the_dqn_target_cut(tmp_path):
    """docs/figures/dqn_loss_graph.py: theta takes a gradient, theta^- does not."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "docs" / "figures" / "dqn_loss_graph.py"
    spec = importlib.util.spec_from_file_location("dqn_loss_graph", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    nodes, edges = parse(module.dqn_loss_graph(tmp_path / "g.dot").read_text())
    fills = {}
    for label, _, fill, _ in nodes.values():
        fills.setdefault(label.split("\\n")[0], set()).add(fill)
    online = {k: v for k, v in fills.items() if k.startswith("θ ")}
    target = {k: v for k, v in fills.items() if k.startswith("θ⁻ ")}
    assert len(online) == len(target) == 4   # W and b of two layers each
    assert all(v == {"orange"} for v in online.values())
    assert all(v == {"white"} for v in target.values())
    assert sum("color=red" in a for _, _, a in edges) == 1
