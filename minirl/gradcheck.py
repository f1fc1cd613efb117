"""Gradient checking: backprop against central differences, in float64.

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)        error O(h^2)

A function with a non-scalar output is reduced to a scalar by a fixed random
projection, L = sum(f(x) * r), so every output element takes part in the check.
"""
import numpy as np

from minirl.core import Variable, as_array, no_grad

__all__ = ["numerical_grad", "gradient_check"]


def numerical_grad(f, *xs, h=1e-6):
    """Central-difference gradient of a scalar-valued ``f(*xs)`` w.r.t. each input.

    ``xs`` are float64 ndarrays; ``f`` takes and returns ndarrays (or numbers).
    Returns one gradient array per input.
    """
    grads = []
    for x in xs:
        grad = np.zeros_like(x)
        it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
        for _ in it:
            i = it.multi_index
            old = x[i]
            x[i] = old + h
            f_plus = float(np.sum(f(*xs)))
            x[i] = old - h
            f_minus = float(np.sum(f(*xs)))
            x[i] = old
            grad[i] = (f_plus - f_minus) / (2 * h)
        grads.append(grad)
    return grads


def gradient_check(f, *inputs, rtol=1e-4, atol=1e-5, h=1e-6, seed=0):
    """Assert that backprop through ``f`` matches central differences for every input.

    ``f`` maps Variables to a Variable. ``inputs`` are arrays or Variables; they are
    copied to float64 so the check measures the math, not float32 rounding. Raises an
    AssertionError naming the input and its worst element. Returns True on success.
    """
    arrays = [as_array(x.data if isinstance(x, Variable) else x).astype(np.float64)
              for x in inputs]
    names = [(x.name if isinstance(x, Variable) and x.name else f"input {k}")
             for k, x in enumerate(inputs)]

    variables = [Variable(a.copy()) for a in arrays]
    y = f(*variables)
    # r: a fixed random projection so a non-scalar output is checked in every element.
    r = np.random.default_rng(seed).standard_normal(y.shape)
    (y * r).sum().backward()

    def projected(*xs):
        with no_grad():
            return np.sum(f(*[Variable(x) for x in xs]).data * r)

    numeric = numerical_grad(projected, *arrays, h=h)
    for name, v, num in zip(names, variables, numeric):
        analytic = np.zeros_like(num) if v.grad is None else np.asarray(v.grad, np.float64)
        if analytic.shape != num.shape:
            raise AssertionError(f"gradient_check: {name}: backprop gradient has shape "
                                 f"{analytic.shape}, the input has {num.shape}")
        error = np.abs(analytic - num) - (atol + rtol * np.abs(num))
        if np.any(error > 0):
            worst = np.unravel_index(np.argmax(error), error.shape)
            raise AssertionError(
                f"gradient_check: {name} (shape {num.shape}) disagrees at {worst}: "
                f"backprop {analytic[worst]:.6g}, central differences {num[worst]:.6g} "
                f"(rtol={rtol}, atol={atol})")
    return True
