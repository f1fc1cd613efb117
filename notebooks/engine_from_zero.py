# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The engine from zero
#
# Every gradient in minirl comes from about three hundred lines of NumPy in
# `minirl/core.py` and `minirl/functions.py`. This notebook writes a smaller copy of that
# engine in six steps, as DeZero's `steps/` and chapter 7 of the book do, and after
# each step checks it against minirl's own engine **on the same numbers**:
#
# 1. a `Variable` and a `Function`
# 2. the chain rule by hand
# 3. `backward()` in generation order
# 4. broadcasting and `sum_to`
# 5. a `Linear` layer and a loss
# 6. an optimizer step
#
# Everything here is new code; minirl is imported only to compare with.

# %%
# Colab starts without minirl: install it there (elsewhere: `pip install -e .` in the repo).
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("minirl") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "minirl @ git+https://github.com/minirl/minirl"], check=True)

# %%
import numpy as np

import minirl
import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim


def same(ours, theirs, what, against="minirl"):
    """Assert that our engine's number equals minirl's (or a formula's), and say so."""
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9, err_msg=what)
    print(f"{what}: matches {against}")


# %% [markdown]
# ## Step 1: a Variable and a Function
#
# A `Variable` is a box around an ndarray that will also hold its gradient. A
# `Function` maps Variables to a Variable; `__call__` does the bookkeeping once for
# every op (unwrap, compute, wrap, remember who made the output), so each op only says
# `forward`, and later `backward`.

# %%
class Variable:
    def __init__(self, data):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = None
        self.creator = None      # the Function that made this Variable
        self.generation = 0      # how far from the inputs (step 3)


class Function:
    def __call__(self, *inputs):
        inputs = [x if isinstance(x, Variable) else Variable(x) for x in inputs]
        output = Variable(self.forward(*(x.data for x in inputs)))
        output.creator = self
        self.inputs, self.output = inputs, output
        self.generation = max(x.generation for x in inputs)
        output.generation = self.generation + 1
        return output


class Square(Function):
    def forward(self, x):
        return x ** 2

    def backward(self, gy):          # d(x^2)/dx = 2x
        return (2 * self.inputs[0].data * gy,)


class Exp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):          # d(e^x)/dx = e^x
        return (self.output.data * gy,)


x = Variable(0.5)
y = Square()(Exp()(Square()(x)))     # y = (e^(x^2))^2
x_m = minirl.Variable(np.array(0.5))
y_m = F.exp(x_m ** 2) ** 2
same(y.data, y_m.data, "step 1, forward of (e^(x^2))^2")

# %% [markdown]
# ## Step 2: the chain rule by hand
#
# For $y = C(B(A(x)))$ the chain rule multiplies the local derivatives from the
# output back to the input:
#
# $$\frac{dy}{dx} = \frac{dy}{db}\,\frac{db}{da}\,\frac{da}{dx}.$$
#
# Start from $dy/dy = 1$ and call each function's `backward` in reverse order.

# %%
C = y.creator
B = C.inputs[0].creator
A = B.inputs[0].creator
gy = np.array(1.0)
(gb,) = C.backward(gy)               # dy/db
(ga,) = B.backward(gb)               # dy/da
(gx,) = A.backward(ga)               # dy/dx
by_formula = 4 * x.data * np.exp(2 * x.data ** 2)  # d/dx e^(2x^2)
y_m.backward()
same(gx, by_formula, "step 2, dy/dx by hand", against="4x e^(2x^2)")
same(gx, x_m.grad, "step 2, dy/dx by hand")


# %% [markdown]
# ## Step 3: `backward()` in generation order
#
# A Variable used twice must collect **both** gradients before it passes anything
# back: $\partial L / \partial x = \sum_{\text{uses}} \partial L/\partial y \cdot \partial y/\partial x$.
# Each Function knows its *generation* (the largest generation of its inputs), so taking
# functions newest first guarantees that every use has been seen. Below, $a = x^2$
# is used twice: $y = a^2 + a^2 = 2x^4$ and $dy/dx = 8x^3$.

# %%
class Add(Function):
    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        return gy, gy


def backward(y):
    """Fill .grad of everything y depends on: functions in decreasing generation."""
    y.grad = np.ones_like(y.data)
    functions, seen = [y.creator], {y.creator}
    while functions:
        functions.sort(key=lambda f: f.generation)
        f = functions.pop()                       # the newest one left
        grads = f.backward(f.output.grad)
        for x, gx in zip(f.inputs, grads):
            x.grad = gx if x.grad is None else x.grad + gx   # uses add up
            if x.creator is not None and x.creator not in seen:
                seen.add(x.creator)
                functions.append(x.creator)


x = Variable(2.0)
a = Square()(x)
y = Add()(Square()(a), Square()(a))
backward(y)

x_m = minirl.Variable(np.array(2.0))
a_m = x_m ** 2
y_m = a_m ** 2 + a_m ** 2
y_m.backward()
print("dy/dx =", x.grad, " (8 x^3 =", 8 * 2.0 ** 3, ")")
same(x.grad, x_m.grad, "step 3, d(a^2 + a^2)/dx with a = x^2")


# %% [markdown]
# Without the ordering, the walk can reach `a`'s creator before the second use of `a`
# has added its gradient. A plain first-in-first-out walk, which also visits a function
# every time it is reached, gets a wrong answer:

# %%
def backward_unordered(y):
    y.grad = np.ones_like(y.data)
    functions = [y.creator]
    while functions:
        f = functions.pop(0)
        grads = f.backward(f.output.grad)
        for x, gx in zip(f.inputs, grads):
            x.grad = gx if x.grad is None else x.grad + gx
            if x.creator is not None:
                functions.append(x.creator)


x = Variable(2.0)
a = Square()(x)
y = Add()(Square()(a), Square()(a))
backward_unordered(y)
print("unordered walk:", x.grad, " correct:", x_m.grad)
assert x.grad != x_m.grad


# %% [markdown]
# ## Step 4: broadcasting and `sum_to`
#
# NumPy broadcasts: adding a bias of shape `(3,)` to a batch of shape `(2, 3)` adds it
# to every row. In the backward pass, the bias was used once per row, so by step 3 its
# gradient is the **sum** over the rows. `sum_to` does that bookkeeping for any shapes:
# it sums away the leading axes broadcasting added and the axes that were 1. Doing it in
# one place (in the backward loop, as minirl does) means no op has to remember how it
# broadcast.

# %%
def sum_to(g, shape):
    """Sum g over the axes that broadcasting stretched, back to ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


class Add(Function):                                  # now broadcasting-aware
    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        return tuple(sum_to(gy, x.data.shape) for x in self.inputs)


class Mul(Function):
    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = (x.data for x in self.inputs)
        return sum_to(gy * x1, x0.shape), sum_to(gy * x0, x1.shape)


class Sum(Function):
    def forward(self, x):
        return x.sum()

    def backward(self, gy):                           # every element counted once
        return (np.broadcast_to(gy, self.inputs[0].data.shape),)


rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3))
bias, scale = rng.standard_normal(3), rng.standard_normal((2, 1))
b, s = Variable(bias), Variable(scale)
loss = Sum()(Mul()(Add()(X, b), s))                    # sum((X + b) * s)
backward(loss)

b_m, s_m = minirl.Variable(bias), minirl.Variable(scale)
F.sum((X + b_m) * s_m).backward()
print("bias grad", b.grad, "shape", b.grad.shape)
same(b.grad, b_m.grad, "step 4, gradient of a (3,) bias broadcast over 2 rows")
same(s.grad, s_m.grad, "step 4, gradient of a (2, 1) scale broadcast over 3 columns")


# %% [markdown]
# ## Step 5: a Linear layer and a loss
#
# A layer is a function with parameters. $\text{Linear}(x) = xW + b$ with $W$ of
# shape `(in, out)`; its backward is the matrix calculus of the chain rule,
#
# $$\frac{\partial L}{\partial x} = g\,W^\top, \qquad \frac{\partial L}{\partial W} = x^\top g, \qquad \frac{\partial L}{\partial b} = \textstyle\sum_\text{batch} g,$$
#
# and the mean squared error $L = \frac1N \sum (y - t)^2$ has gradient
# $2(y - t)/N$. minirl's `Linear` starts from uniform weights in
# $\pm 1/\sqrt{\text{in}}$; we copy them so both engines see the same numbers.

# %%
class MatMul(Function):
    def forward(self, x, W):
        return x @ W

    def backward(self, gy):
        x, W = (v.data for v in self.inputs)
        return gy @ W.T, x.T @ gy


class MeanSquaredError(Function):
    def forward(self, y, t):
        return np.mean((y - t) ** 2)

    def backward(self, gy):
        y, t = (v.data for v in self.inputs)
        gx = gy * 2 * (y - t) / y.size
        return gx, -gx


class Linear:
    def __init__(self, W, b):
        self.W, self.b = Variable(W), Variable(b)

    def __call__(self, x):
        return Add()(MatMul()(x, self.W), self.b)

    def parameters(self):
        return [self.W, self.b]


layer_m = L.Linear(3, 2, dtype=np.float64, rng=np.random.default_rng(1))
layer = Linear(layer_m.W.data.copy(), layer_m.b.data.copy())
x_batch = rng.standard_normal((5, 3))
t_batch = rng.standard_normal((5, 2))

loss = MeanSquaredError()(layer(x_batch), t_batch)
backward(loss)
loss_m = F.mean_squared_error(layer_m(x_batch), t_batch)
loss_m.backward()
same(loss.data, loss_m.data, "step 5, the loss")
same(layer.W.grad, layer_m.W.grad, "step 5, dL/dW")
same(layer.b.grad, layer_m.b.grad, "step 5, dL/db")


# %% [markdown]
# ## Step 6: an optimizer step
#
# Gradient descent moves every parameter against its gradient,
# $\theta \leftarrow \theta - \eta\, \nabla_\theta L$. Fit the layer to a linear target for
# 200 steps with both engines, from the same start, and compare the parameters at the end.

# %%
class SGD:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self):
        for p in self.params:
            p.data = p.data - self.lr * p.grad


W_true = np.array([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]])
x_fit = rng.standard_normal((64, 3))
t_fit = x_fit @ W_true + 0.5

opt = SGD(layer.parameters(), lr=0.1)
opt_m = optim.SGD(layer_m.parameters(), lr=0.1)
losses = []
for _ in range(200):
    for p in layer.parameters():
        p.grad = None
    loss = MeanSquaredError()(layer(x_fit), t_fit)
    backward(loss)
    opt.step()
    losses.append(float(loss.data))

    opt_m.zero_grad()
    loss_m = F.mean_squared_error(layer_m(x_fit), t_fit)
    loss_m.backward()
    opt_m.step()

print(f"loss {losses[0]:.3f} -> {losses[-1]:.2e}")
same(layer.W.data, layer_m.W.data, "step 6, W after 200 SGD steps")
same(layer.b.data, layer_m.b.data, "step 6, b after 200 SGD steps")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(losses)
ax.set_xlabel("SGD step")
ax.set_ylabel("mean squared error")
ax.set_title("Fitting xW + b with the micro-engine")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## This is what `minirl/core.py` is
#
# The six steps are the whole idea. `minirl/core.py` is the same engine with what a
# library needs on top:
#
# * `Function.__call__` records the graph only when some input wants a gradient, and
#   not at all under `no_grad()`: a TD target or an action choice builds nothing;
# * the output is held by a weak reference, so a graph is freed as soon as its last
#   Variable goes;
# * `backward()` takes functions from a heap keyed by generation (the `sort` above, in
#   $O(\log n)$ a step) and frees intermediate gradients as soon as they are used;
# * `sum_to` runs in the backward loop itself, so every op broadcasts for free;
# * constants (`requires_grad=False`, `detach()`) receive no gradient: the semi-gradient
#   of every TD method is a constant in the graph;
# * float32 parameters keep float32 gradients, and an op given shapes it cannot combine
#   names itself and the shapes.
#
# Open `minirl/core.py` next: it reads in one sitting.
