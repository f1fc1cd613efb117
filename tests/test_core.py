"""The engine's bookkeeping: graph, generation order, no_grad, detach, clear errors."""
import gc
import weakref

import numpy as np
import pytest

import minirl
import minirl.functions as F
from minirl import Variable, no_grad
from minirl.core import Config, enable_grad


def test_shared_node_receives_the_sum_of_its_gradients():
    # y = x^2 is used twice: z = y + y  =>  dz/dx = 2 * 2x = 4x.
    x = Variable(np.array(3.0))
    y = x ** 2
    z = y + y
    z.backward()
    assert x.grad == 12.0


def test_generation_order_diamond():
    # a -> (b, c) -> d: with a depth-first walk a gets its gradient before c's branch
    # arrives; generation order makes it wait.  d = exp(a)^2 * sin-free form:
    x = Variable(np.array(0.5))
    a = x ** 2
    b = F.exp(a)
    c = a * 3.0
    d = b * c + a
    d.backward()
    # closed form: d = 3 x^2 exp(x^2) + x^2; dd/dx = 6x e^{x^2} + 6x^3 e^{x^2} + 2x
    xv = 0.5
    expected = 6 * xv * np.exp(xv**2) + 6 * xv**3 * np.exp(xv**2) + 2 * xv
    assert np.isclose(x.grad, expected)


def test_gradient_accumulates_across_backward_calls_until_cleared():
    x = Variable(np.array(2.0))
    (x * 3.0).backward()
    (x * 3.0).backward()
    assert x.grad == 6.0
    x.cleargrad()
    (x * 3.0).backward()
    assert x.grad == 3.0


def test_no_grad_builds_no_graph():
    x = Variable(np.ones(3))
    with no_grad():
        y = F.sum(F.exp(x) * 2.0)
        with enable_grad():
            z = F.sum(x * 2.0)
    assert y.creator is None and not y.requires_grad
    assert z.creator is not None
    assert Config.enable_backprop


def test_no_grad_restores_the_flag_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError
    assert Config.enable_backprop


def test_detached_value_receives_no_gradient():
    x = Variable(np.array([1.0, 2.0]))
    target = (x * 2.0).detach()  # like a TD target built from the network itself
    loss = F.sum((x - target) ** 2)
    loss.backward()
    # d/dx (x - c)^2 = 2 (x - c) with c constant: the target carries nothing back.
    np.testing.assert_allclose(x.grad, 2 * (x.data - 2 * x.data))
    assert target.grad is None and target.creator is None


def test_constants_get_no_gradient_and_arrays_on_the_left_dispatch():
    x = Variable(np.ones((2, 2)))
    a = np.full((2, 2), 3.0)
    y = a @ x + a - x * a / a  # ndarray on the left of @, +, -
    assert isinstance(y, Variable)
    F.sum(y).backward()
    np.testing.assert_allclose(x.grad, np.full((2, 2), 6.0 - 1.0))


def test_intermediate_gradients_freed_unless_retained():
    x = Variable(np.array(2.0))
    y = x * 3.0
    z = y * y
    z.backward()
    assert y.grad is None and x.grad == 36.0
    x.cleargrad()
    z2 = (x * 3.0)
    w = z2 * z2
    w.backward(retain_grad=True)
    assert z2.grad == 12.0


def test_graph_is_freed_without_the_garbage_collector():
    # Outputs are held weakly by their creator: no reference cycle keeps memory alive.
    gc.disable()
    try:
        x = Variable(np.ones(1000))
        y = F.exp(x) * 2.0
        ref = weakref.ref(y.creator)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_operators_and_properties():
    x = Variable(np.arange(6.0).reshape(2, 3), name="x")
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.T.shape == (3, 2) and x.reshape(3, 2).shape == (3, 2)
    assert x.reshape((6,)).shape == (6,) and x.transpose(1, 0).shape == (3, 2)
    assert x.sum().item() == 15 and x.sum(axis=0, keepdims=True).shape == (1, 3)
    assert x.mean().item() == 2.5 and x.max(axis=1).data.tolist() == [2, 5]
    assert (-x).data[1, 2] == -5 and (2 - x).data[0, 0] == 2 and (1 / (x + 1)).data[0, 0] == 1
    assert "x" in repr(x)


def test_errors_name_what_was_wrong():
    with pytest.raises(TypeError, match="numeric"):
        Variable("abc")
    with pytest.raises(TypeError, match="numeric"):
        Variable(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="numeric"):
        Variable(np.ones(2)) + "a"
    with pytest.raises(ValueError, match=r"non-scalar.*\(2, 3\)"):
        (Variable(np.ones((2, 3))) * 2.0).backward()
    with pytest.raises(ValueError, match=r"Add.*\(2, 3\).*\(4,\)"):
        Variable(np.ones((2, 3))) + np.ones(4)
    with pytest.raises(ValueError, match=r"MatMul.*\(2, 3\).*\(2, 3\)"):
        Variable(np.ones((2, 3))) @ Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Linear.*\(2, 3\).*\(4, 5\)"):
        F.linear(np.ones((2, 3)), Variable(np.ones((4, 5))))
    with pytest.raises(ValueError, match=r"axis 3"):
        F.sum(Variable(np.ones((2, 3))), axis=3)
    with pytest.raises(ValueError, match="seed gradient has shape"):
        Variable(np.ones(3)).backward(np.ones(2))


def test_td_target_shape_bug_is_caught():
    # The classic bug: Q(s, a) of shape (32, 1) against a TD target of shape (32,)
    # broadcasts to a (32, 32) loss. Losses refuse different shapes.
    q_sa = Variable(np.zeros((32, 1)))
    target = np.ones(32)
    with pytest.raises(ValueError, match=r"\(32, 1\).*\(32,\)"):
        F.mean_squared_error(q_sa, target)
    with pytest.raises(ValueError, match=r"\(32, 1\).*\(32,\)"):
        F.huber_loss(q_sa, target)


def test_public_api_names():
    for name in ["exp", "log", "tanh", "sigmoid", "relu", "softmax", "log_softmax", "sum",
                 "mean", "reshape", "transpose", "broadcast_to", "sum_to", "matmul",
                 "linear", "max", "clip", "concat", "get_item", "pick", "mean_squared_error",
                 "huber_loss", "softmax_cross_entropy"]:
        assert callable(getattr(F, name)), name
    assert minirl.Variable is Variable and minirl.no_grad is no_grad


def test_backward_twice_seeds_the_output_afresh_and_leaves_accumulate():
    # y = 3 x^2 at x = 2: dy/dx = 12. Calling backward twice on one graph must give
    # 12 again once the leaf is cleared (the output's own gradient is not summed).
    x = Variable(np.array(2.0))
    y = (x ** 2) * 3.0
    y.backward()
    assert x.grad == 12.0
    x.cleargrad()
    y.backward()
    assert x.grad == 12.0
    y.backward()  # leaves accumulate across calls, as in PyTorch
    assert x.grad == 24.0
    # A retained intermediate holds this call's gradient, and what flows past it
    # is this call's too: u = x^2 used in z = u * u, dz/du = 2u = 8, dz/dx = 32.
    x.cleargrad()
    u = x ** 2
    z = u * u
    z.backward(retain_grad=True)
    x.cleargrad()
    z.backward(retain_grad=True)
    assert u.grad == 8.0 and x.grad == 32.0


def test_backward_of_a_leaf_accumulates_like_any_leaf():
    x = Variable(np.array([1.0, 2.0]))
    x.backward(np.array([1.0, 1.0]))
    x.backward(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(x.grad, [1.5, 1.5])


def test_no_grad_ops_keep_no_inputs_and_compute_the_same():
    # Without a graph nothing is recorded: the inputs can be freed as soon as the caller
    # drops them, and the value is the one the graph-building path computes.
    gc.disable()
    try:
        x = Variable(np.linspace(-1, 1, 6).reshape(2, 3))
        w = Variable(np.ones((3, 2)))
        with_graph = F.softmax(F.relu(F.linear(F.tanh(x), w, np.zeros(2))))
        with no_grad():
            a = F.tanh(x)
            ref = weakref.ref(a)
            lean = F.softmax(F.relu(F.linear(a, w, np.zeros(2))))
            del a
        assert ref() is None and lean.creator is None and not lean.requires_grad
        np.testing.assert_array_equal(lean.data, with_graph.data)
    finally:
        gc.enable()
    with no_grad(), pytest.raises(ValueError, match=r"MatMul.*\(2, 3\).*\(2, 3\)"):
        Variable(np.ones((2, 3))) @ Variable(np.ones((2, 3)))
    for bias in (None, np.zeros(3)):  # linear's shortcut names them as the graph path does
        with no_grad(), pytest.raises(ValueError, match=r"Linear.*\(2, 3\).*\(2, 3\)"):
            F.linear(Variable(np.ones((2, 3))), np.ones((2, 3)), bias)


def _run_python(code, env=None):
    import os
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


BLOCK_PACKAGES = '''
import sys
class Blocked:
    """Make gymnasium, matplotlib and tqdm unimportable, as if not installed."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("gymnasium", "matplotlib", "tqdm"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None
sys.meta_path.insert(0, Blocked())
'''


def test_the_engine_imports_and_learns_without_gymnasium_matplotlib_or_tqdm():
    code = BLOCK_PACKAGES + '''
import numpy as np
import minirl.core, minirl.functions as F, minirl.layers as L, minirl.optimizers as optim
import minirl.gradcheck
net = L.MLP((2, 8, 1), rng=np.random.default_rng(0))
opt = optim.Adam(net.parameters(), lr=1e-2)
x = np.random.default_rng(1).standard_normal((16, 2)).astype(np.float32)
first = None
for _ in range(50):
    loss = F.mean_squared_error(net(x), x[:, :1] * x[:, 1:])
    first = first if first is not None else loss.item()
    net.zero_grad(); loss.backward(); opt.step()
assert loss.item() < first
minirl.gradcheck.gradient_check(F.tanh, np.ones(3))
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("gymnasium", "matplotlib", "tqdm"))
assert loaded == [], loaded
try:
    minirl.train
except ModuleNotFoundError as error:
    assert "gymnasium" in str(error), error
else:
    raise AssertionError("minirl.train imported without gymnasium")
print("ok")
'''
    result = _run_python(code)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_import_minirl_registers_the_envs_and_exports_the_api_lazily():
    code = '''
import sys
import minirl
import gymnasium
assert "minirl/GridWorld-v0" in gymnasium.registry and "minirl/Chain-v0" in gymnasium.registry
assert "minirl.train" not in sys.modules and "minirl.agents" not in sys.modules
import minirl.graph, minirl.train, minirl.agents, minirl.checkpoint
assert minirl.plot_graph is minirl.graph.plot_graph
assert minirl.train is minirl.train and callable(minirl.train)
assert minirl.make_agent is minirl.agents.make_agent
assert minirl.algorithms is minirl.agents.algorithms
assert minirl.load_agent is minirl.checkpoint.load_agent
assert minirl.evaluate is sys.modules["minirl.train"].evaluate
assert {"train", "make_agent", "plot_graph"} <= set(dir(minirl))
try:
    minirl.no_such_name
except AttributeError as error:
    assert "no_such_name" in str(error)
print("ok")
'''
    result = _run_python(code)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_no_import_cycles_outside_core_and_functions():
    """The import graph of minirl's modules, read from their source, has no cycle
    except core <-> functions (the operators of Variable live in functions), through
    nograd (functions' linear and relu hand their no_grad calls to it, and it wraps
    the results as core's Variables)."""
    import ast
    import pathlib
    root = pathlib.Path(minirl.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    def import_time_statements(body):
        """Statements run on import: not those inside functions or classes."""
        for node in body:
            if isinstance(node, (ast.If, ast.Try)):
                for block in (node.body, getattr(node, "orelse", []),
                              getattr(node, "finalbody", []),
                              *[h.body for h in getattr(node, "handlers", [])]):
                    yield from import_time_statements(block)
            else:
                yield node

    edges = {}
    for name, path in modules.items():
        targets = set()
        for node in import_time_statements(ast.parse(path.read_text()).body):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from minirl import functions" imports the submodule, not the package
                found = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                         else node.module for a in node.names]
            else:
                continue
            targets |= {t for t in found if t in modules and t != name}
        edges[name] = targets
    engine = ("minirl.core", "minirl.functions", "minirl.nograd")
    allowed = {frozenset({a, b}) for a in engine for b in engine}

    def reaches(start, goal, seen):
        for nxt in edges[start]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    cycles = [(a, b) for a in edges for b in edges[a]
              if frozenset({a, b}) not in allowed and reaches(b, a, {b})]
    assert cycles == [], cycles
