"""A tour of reverse-mode differentiation: gradients, VJPs, JVPs and Hessian-vector products.

The mathematics, for f: R^n -> R^m with Jacobian J(x) (m x n):

* reverse mode computes vector-Jacobian products u^T J (one backward pass per u); for a scalar
  loss (m = 1, u = 1) that is the gradient;
* a Jacobian-vector product J v comes from the same machinery by the double-backward trick:
  g(u) = J^T u is linear in u, so <g(u), v> = u^T J v and d<g(u), v>/du = J v;
* a Hessian-vector product of a scalar L is the gradient of <grad L(x), v>: H v = d<grad L, v>/dx.

Every result is checked against a closed form and against central finite differences
(h(x + eps v) - h(x - eps v)) / (2 eps), and the largest error is printed.

    python examples/autograd_tour.py [--smoke] [--n 6]
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_lm as tg

EPS = 1e-6


def tensor(array: np.ndarray, requires_grad: bool = False) -> tg.Tensor:
    return tg.tensor(array, dtype="float64", requires_grad=requires_grad)


def central_difference(h, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(h(x + eps v) - h(x - eps v)) / (2 eps): the directional derivative of h along v."""
    return (h(x + EPS * v) - h(x - EPS * v)) / (2 * EPS)


def report(label: str, ours: np.ndarray, reference: np.ndarray, what: str) -> float:
    error = float(np.max(np.abs(ours - reference)))
    print(f"  {label:<38} max |ours - {what}| = {error:.2e}")
    assert error < 1e-5, f"{label}: error {error}"
    return error


def gradient(x0: np.ndarray) -> None:
    """L(x) = sum_i x_i tanh(x_i): dL/dx_i = tanh(x_i) + x_i (1 - tanh(x_i)^2)."""
    print("1. gradient of L(x) = sum x tanh(x)")
    x = tensor(x0, requires_grad=True)
    (x * x.tanh()).sum().backward()
    t = np.tanh(x0)
    report("backward vs closed form", x.grad.numpy(), t + x0 * (1 - t**2), "closed form")
    loss = lambda z: np.sum(z * np.tanh(z))
    numeric = np.array([central_difference(loss, x0, e) for e in np.eye(len(x0))])
    report("backward vs finite differences", x.grad.numpy(), numeric, "finite differences")


def jacobian_products(x0: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> None:
    """f(x) = tanh(W x), J = diag(1 - f^2) W: u^T J by one backward pass, J v by double backward."""
    print("2. f(x) = tanh(W x): vector-Jacobian and Jacobian-vector products")
    f_numpy = lambda z: np.tanh(w @ z)
    jacobian = (1 - f_numpy(x0) ** 2)[:, None] * w
    u0, v0 = rng.normal(size=w.shape[0]), rng.normal(size=w.shape[1])

    x = tensor(x0, requires_grad=True)
    y = (tensor(w) @ x).tanh()
    (vjp,) = tg.grad(y, x, grad_outputs=tensor(u0), retain_graph=True)  # y is differentiated again below
    report("u^T J (backward)", vjp.numpy(), u0 @ jacobian, "closed form")

    u = tensor(u0, requires_grad=True)  # the trick: J^T u as a function of u, then d<J^T u, v>/du
    (vjp_of_u,) = tg.grad(y, x, grad_outputs=u, create_graph=True)
    (jvp,) = tg.grad((vjp_of_u * tensor(v0)).sum(), u)
    report("J v (double backward) vs closed form", jvp.numpy(), jacobian @ v0, "closed form")
    report(
        "J v vs finite differences", jvp.numpy(), central_difference(f_numpy, x0, v0), "finite differences"
    )


def hessian_vector_product(x0: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> None:
    """L(x) = logsumexp(A x): grad = A^T p with p = softmax(A x), H = A^T (diag(p) - p p^T) A."""
    print("3. Hessian-vector product of L(x) = logsumexp(A x)")
    v0 = rng.normal(size=len(x0))
    x = tensor(x0, requires_grad=True)
    (grad,) = tg.grad((tensor(a) @ x).logsumexp(axis=-1), x, create_graph=True)
    (hvp,) = tg.grad((grad * tensor(v0)).sum(), x)
    logits = a @ x0
    p = np.exp(logits - logits.max())
    p /= p.sum()
    hessian = a.T @ (np.diag(p) - np.outer(p, p)) @ a
    report("H v vs closed form", hvp.numpy(), hessian @ v0, "closed form")

    def gradient_numpy(z: np.ndarray) -> np.ndarray:
        q = np.exp(a @ z - np.max(a @ z))
        return a.T @ (q / q.sum())

    report(
        "H v vs finite differences of grad",
        hvp.numpy(),
        central_difference(gradient_numpy, x0, v0),
        "finite differences",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="input dimension")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--smoke", action="store_true", help="the same checks at n = 3 (they are fast anyway)"
    )
    args = parser.parse_args()
    n = 3 if args.smoke else args.n
    rng = np.random.default_rng(args.seed)
    x0 = rng.normal(size=n)
    gradient(x0)
    jacobian_products(x0, rng.normal(size=(n + 2, n)), rng)
    hessian_vector_product(x0, rng.normal(size=(n + 1, n)), rng)
    print("all derivatives agree with their closed forms and finite differences")


if __name__ == "__main__":
    main()
