"""Convolution: conv2d against a direct loop over its definition, backprop against central
differences (hypothesis over shapes, strides and padding), im2col and col2im as each
other's adjoint, Conv2d's shapes and initialisation, and errors that name the shapes."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minirl.functions as F
import minirl.layers as L
from minirl import Variable, no_grad
from minirl.gradcheck import gradient_check


def direct_conv2d(x, W, b, stride, pad):
    """y[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] xp[n, c, i sh + u, j sw + v],
    four loops and a sum, with xp the zero-padded x: the definition, nothing shared with
    im2col."""
    (sh, sw), (ph, pw) = stride, pad
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.zeros((N, C, H + 2 * ph, Wd + 2 * pw))
    xp[:, :, ph:ph + H, pw:pw + Wd] = x
    oh, ow = (H + 2 * ph - kh) // sh + 1, (Wd + 2 * pw - kw) // sw + 1
    y = np.zeros((N, O, oh, ow))
    for n in range(N):
        for o in range(O):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    y[n, o, i, j] = (patch * W[o]).sum() + (0.0 if b is None else b[o])
    return y


@st.composite
def conv_cases(draw):
    """Shapes where the kernel fits: N, C, O, kernel, stride, pad and the image size."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 6))
    w = draw(st.integers(max(1, kw - 2 * pw), 6))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return (n, c, h, w), (o, c, kh, kw), (sh, sw), (ph, pw), bias, seed


def arrays(case):
    x_shape, w_shape, _, _, bias, seed = case
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    return x, W, (rng.standard_normal(w_shape[0]) if bias else None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases())
def test_conv2d_equals_the_direct_loop(case):
    x, W, b = arrays(case)
    stride, pad = case[2], case[3]
    y = F.conv2d(x, W, b, stride=stride, pad=pad)
    np.testing.assert_allclose(y.data, direct_conv2d(x, W, b, stride, pad), rtol=1e-10,
                               atol=1e-12)
    with no_grad():  # the lean path computes the same values
        np.testing.assert_array_equal(F.conv2d(x, W, b, stride, pad).data, y.data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases())
def test_conv2d_gradients_match_central_differences(case):
    x, W, b = arrays(case)
    stride, pad = case[2], case[3]
    if b is None:
        gradient_check(lambda x, W: F.conv2d(x, W, stride=stride, pad=pad), x, W)
    else:
        gradient_check(lambda x, W, b: F.conv2d(x, W, b, stride=stride, pad=pad), x, W, b)


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    """<im2col(x), c> = <x, col2im(c)> for every x and c: col2im is im2col's transpose,
    which is what makes it the backward pass (overlapping patches add up)."""
    x, W, _ = arrays(case)
    kernel, stride, pad = W.shape[2:], case[2], case[3]
    col = F.im2col(x, kernel, stride, pad)
    c = np.random.default_rng(case[5] + 1).standard_normal(col.shape)
    np.testing.assert_allclose(np.vdot(col, c),
                               np.vdot(x, F.col2im(c, x.shape, kernel, stride, pad)),
                               rtol=1e-10)


def test_im2col_rows_are_the_patches():
    """Row (n, i, j) holds the padded patch under output pixel (i, j), pixel by pixel
    with each pixel's channels together (channels last)."""
    x = np.arange(2 * 2 * 4 * 5, dtype=float).reshape(2, 2, 4, 5)
    col = F.im2col(x, (3, 2), (1, 2), (1, 0))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    oh, ow = F.conv_output_size(4, 3, 1, 1), F.conv_output_size(5, 2, 2, 0)
    assert col.shape == (2 * oh * ow, 2 * 3 * 2)
    for n in range(2):
        for i in range(oh):
            for j in range(ow):
                patch = xp[n, :, i:i + 3, 2 * j:2 * j + 2].transpose(1, 2, 0).ravel()
                np.testing.assert_array_equal(col[(n * oh + i) * ow + j], patch)


def test_conv2d_keeps_float32_and_gives_parameters_their_gradients():
    rng = np.random.default_rng(0)
    layer = L.Conv2d(3, 4, 3, stride=2, pad=1, rng=rng)
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    y = layer(x)
    assert y.shape == (2, 4, 4, 4) and y.dtype == np.float32
    F.sum(y * y).backward()
    assert layer.W.grad.shape == (4, 3, 3, 3) and layer.W.grad.dtype == np.float32
    assert layer.b.grad.shape == (4,)
    np.testing.assert_allclose(layer.b.grad, 2 * y.data.sum(axis=(0, 2, 3)), rtol=1e-5)


def test_the_input_gets_no_gradient_unless_it_wants_one():
    layer = L.Conv2d(1, 2, 2, rng=np.random.default_rng(0))
    x = Variable(np.ones((1, 1, 3, 3), np.float32), requires_grad=False)
    F.sum(layer(x)).backward()
    assert x.grad is None and layer.W.grad is not None


def test_conv2d_layer_initialises_as_pytorch():
    """W, b uniform in +-1/sqrt(in_channels kh kw) (nn.Conv2d's default)."""
    layer = L.Conv2d(4, 64, (3, 5), rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(4 * 3 * 5)
    assert layer.W.shape == (64, 4, 3, 5) and layer.b.shape == (64,)
    for p in (layer.W.data, layer.b.data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]


def test_flatten_keeps_the_batch_axis_and_passes_gradients_back():
    x = Variable(np.arange(24.0).reshape(2, 3, 2, 2))
    y = F.flatten(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y.data[1], np.arange(12.0, 24.0))
    F.sum(y * np.arange(24.0).reshape(2, 12)).backward()
    np.testing.assert_array_equal(x.grad, np.arange(24.0).reshape(2, 3, 2, 2))


@pytest.mark.parametrize("x_shape, w_shape, b_shape, words", [
    ((2, 3, 5, 5), (4, 2, 3, 3), None, ["(2, 3, 5, 5)", "(4, 2, 3, 3)", "same C"]),
    ((3, 5, 5), (4, 3, 3, 3), None, ["(3, 5, 5)", "(N, C, H, W)"]),
    ((1, 3, 5, 5), (4, 3, 3, 3), (3,), ["b (3,)"]),
    ((1, 3, 2, 2), (4, 3, 3, 3), None, ["3x3 kernel does not fit", "(1, 3, 2, 2)"]),
])
def test_errors_name_the_shapes_that_do_not_fit(x_shape, w_shape, b_shape, words):
    x, W = np.zeros(x_shape), np.zeros(w_shape)
    b = None if b_shape is None else np.zeros(b_shape)
    for grad in (True, False):
        with pytest.raises(ValueError) as info:
            if grad:
                F.conv2d(Variable(x), Variable(W), None if b is None else Variable(b))
            else:
                with no_grad():
                    F.conv2d(x, W, b)
        for word in words:
            assert word in str(info.value)


@pytest.mark.parametrize("kwargs, word", [
    ({"stride": 0}, "stride"), ({"pad": -1}, "pad"), ({"stride": (1, 2, 3)}, "stride"),
    ({"pad": 1.5}, "pad")])
def test_bad_stride_or_pad_is_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), **kwargs)


def test_conv2d_layer_rejects_bad_sizes():
    with pytest.raises(ValueError, match="in_channels"):
        L.Conv2d(0, 4, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        L.Conv2d(1, 4, 0)
