"""The MLP's forward pass against NumPy: Linear, the activation between layers, and
the output activation only when asked for."""
import numpy as np

import minirl.functions as F
import minirl.layers as L


def test_mlp_forward_is_linear_relu_linear_then_the_output_activation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    for output_activation, out in ((None, lambda z: z), (F.tanh, np.tanh)):
        mlp = L.MLP((3, 5, 4, 2), output_activation=output_activation, dtype=np.float64,
                    rng=np.random.default_rng(1))
        w = mlp.state_dict()
        h = np.maximum(x @ w["l0.W"] + w["l0.b"], 0)
        h = np.maximum(h @ w["l1.W"] + w["l1.b"], 0)
        np.testing.assert_allclose(mlp(x).data, out(h @ w["l2.W"] + w["l2.b"]), rtol=1e-12)
    assert np.any(x @ w["l0.W"] + w["l0.b"] < 0)  # the ReLU has something to cut
