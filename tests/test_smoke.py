import numpy as np

import tinygrad_lm as tg


def test_tour_from_the_readme():
    tg.manual_seed(0)
    x = tg.randn(4, 3, requires_grad=True, dtype="float64")
    w = tg.randn(3, 5, requires_grad=True, dtype="float64")
    loss = (x @ w).relu().mean()
    loss.backward()
    assert x.grad.shape == (4, 3) and isinstance(w.grad, tg.Tensor)
    (g,) = tg.grad((x**3).sum(), [x], create_graph=True)
    (h,) = tg.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy(), rtol=1e-12)
