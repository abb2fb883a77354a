"""The per-op check table: ``python -m tinygrad_lm.testing.report [--examples N] [--device cpu|cuda]``.

For every op in the registry it runs each check below on N hypothesis examples (derandomized, so a
run is reproducible; no shrinking, to stay fast) and prints pass / FAIL / n/a per column, with the
number of examples run. The tests in tests/test_op_registry.py run these same functions.

Columns:
  forward       fn(x) == NumPy reference, float64 (rtol 1e-10: both sides are float64 computations
                of the same formula, differing only by a few roundings);
  backward      gradcheck (analytic vs finite differences);
  double bwd    gradgradcheck (second derivative vs finite differences of the first);
  broadcasting  forward + backward + double backward with inputs of broadcast shapes;
  float32       float32 outputs and gradients stay float32 and match the float64 ones to float32
                precision (outputs rtol 1e-4: ~1e3 roundings of 6e-8; gradients rtol 1e-3: they
                chain more operations, e.g. 1/y^2);
  float64       the contract: outputs float64, gradients with the inputs' shapes/dtypes/devices,
                inputs left unmodified;
  cpu / cuda    all of the above on the CPU / forward, backward and contract on a GPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings

import tinygrad_lm as tg

from .gradcheck import gradcheck, gradgradcheck
from .registry import SPECS
from .specs import Case, OpSpec

FORWARD_RTOL, FORWARD_ATOL = 1e-10, 1e-12
F32_OUT_RTOL, F32_OUT_ATOL = 1e-4, 1e-5
F32_GRAD_RTOL, F32_GRAD_ATOL = 1e-3, 1e-4


def _tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def call(spec: OpSpec, tensors: list[tg.Tensor], case: Case) -> tuple[tg.Tensor, ...]:
    """The op's outputs as a tuple."""
    return _tuple(spec.fn(*tensors, **case.params))


def vjp(spec: OpSpec, tensors: list[tg.Tensor], case: Case, seed: int = 0) -> list[tg.Tensor]:
    """d<u, fn(x)>/dx for a seeded standard normal u (one per output), zeros for unused inputs."""
    outputs = [y for y in call(spec, tensors, case) if y.requires_grad]
    rng = np.random.default_rng(seed)
    upstream = [tg.Tensor(rng.standard_normal(y.shape), dtype=y.dtype, device=y.device) for y in outputs]
    grads = tg.grad(outputs, tensors, upstream, allow_unused=True) if outputs else [None] * len(tensors)
    return [tg.zeros_like(x) if g is None else g for g, x in zip(grads, tensors, strict=True)]


def check_forward(spec: OpSpec, case: Case, device: str = "cpu") -> None:
    outputs = call(spec, case.tensors(device), case)
    expected = _tuple(spec.ref(*case.arrays, **case.params))
    assert len(outputs) == len(expected), (
        f"{spec.name}: {len(outputs)} outputs, reference has {len(expected)}"
    )
    for y, r in zip(outputs, expected, strict=True):
        assert y.shape == np.shape(r), f"{spec.name}: output shape {y.shape}, reference {np.shape(r)}"
        np.testing.assert_allclose(y.numpy(), r, rtol=FORWARD_RTOL, atol=FORWARD_ATOL, err_msg=spec.name)


def check_backward(spec: OpSpec, case: Case, device: str = "cpu") -> None:
    gradcheck(lambda *xs: spec.fn(*xs, **case.params), case.tensors(device), name=spec.name)


def check_double_backward(spec: OpSpec, case: Case, device: str = "cpu") -> None:
    gradgradcheck(lambda *xs: spec.fn(*xs, **case.params), case.tensors(device), name=spec.name)


def check_contract(spec: OpSpec, case: Case, device: str = "cpu") -> None:
    """Output dtypes, gradient shapes/dtypes/devices equal to the inputs', inputs and params unmodified."""
    tensors = case.tensors(device)
    inputs_before = [x.numpy().copy() for x in tensors]
    params_before = {k: v.copy() for k, v in case.params.items() if isinstance(v, np.ndarray)}
    for y in call(spec, tensors, case):
        assert not spec.keeps_dtype or y.dtype == tensors[0].dtype, f"{spec.name}: output dtype {y.dtype}"
    for g, x in zip(vjp(spec, tensors, case), tensors, strict=True):
        got, expected = (g.shape, g.dtype, g.device), (x.shape, x.dtype, x.device)
        assert got == expected, f"{spec.name}: gradient (shape, dtype, device) {got}, input {expected}"
    for x, before in zip(tensors, inputs_before, strict=True):
        np.testing.assert_array_equal(x.numpy(), before, err_msg=f"{spec.name} modified its input")
    for key, before in params_before.items():
        np.testing.assert_array_equal(case.params[key], before, err_msg=f"{spec.name} modified {key}")


def check_float32(spec: OpSpec, case: Case, device: str = "cpu") -> None:
    """The op on float32 values vs the same values in float64; no silent upcast of outputs or grads."""
    arrays32 = tuple(a.astype(np.float32) for a in case.arrays)
    case32, case64 = (
        Case(arrays32, case.params),
        Case(tuple(a.astype(np.float64) for a in arrays32), case.params),
    )
    x32, x64 = case32.tensors(device), case64.tensors(device)
    for y32, y64 in zip(call(spec, x32, case32), call(spec, x64, case64), strict=True):
        assert not spec.keeps_dtype or y32.dtype == np.float32, f"{spec.name}: float32 in, {y32.dtype} out"
        np.testing.assert_allclose(y32.numpy(), y64.numpy(), rtol=F32_OUT_RTOL, atol=F32_OUT_ATOL)
    atol = F32_GRAD_ATOL
    if spec.float32_grad_error is not None:
        atol = max(atol, spec.float32_grad_error(*case64.arrays, **case.params))
    for g32, g64, x in zip(vjp(spec, x32, case32), vjp(spec, x64, case64), x32, strict=True):
        assert g32.dtype == np.float32, f"{spec.name}: float32 input got a {g32.dtype} gradient"
        assert g64.dtype == np.float64 and g32.shape == x.shape
        np.testing.assert_allclose(g32.numpy(), g64.numpy(), rtol=F32_GRAD_RTOL, atol=atol)


def check_broadcasting(spec: OpSpec, case: Case, device: str = "cpu") -> None:
    check_forward(spec, case, device)
    check_backward(spec, case, device)
    if spec.second_order is True:
        check_double_backward(spec, case, device)


def check_device(spec: OpSpec, case: Case, device: str = "cuda") -> None:
    check_forward(spec, case, device)
    if spec.first_order is True:
        check_backward(spec, case, device)
    check_contract(spec, case, device)


Check = Callable[[OpSpec, Case, str], None]
# column -> (check, draw broadcast shapes?, the spec field that may make it n/a)
COLUMNS: dict[str, tuple[Check, bool, str | None]] = {
    "forward": (check_forward, False, None),
    "backward": (check_backward, False, "first_order"),
    "double bwd": (check_double_backward, False, "second_order"),
    "broadcasting": (check_broadcasting, True, "broadcasts"),
    "float32": (check_float32, False, "float32"),
    "float64": (check_contract, False, None),
}


def run_check(check: Check, spec: OpSpec, examples: int, device: str, broadcast: bool, seed: int = 0):
    """(passed, examples run, the start of the failure message) for ``examples`` hypothesis draws."""
    count = 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=spec.cases("float64", broadcast))
    def run(case: Case) -> None:
        nonlocal count
        count += 1
        check(spec, case, device)

    try:
        run()
    except Exception as error:  # any failure is a FAIL cell, reported below the table
        lines = str(error).strip().splitlines()[:8]  # the report, without hypothesis' reproduction notes
        return False, count, "\n".join([type(error).__name__ + ":", *("    " + line for line in lines)])
    return True, count, ""


def _reason(spec: OpSpec, field: str | None) -> str | None:
    """Why a column is n/a for this spec, or None when it applies."""
    if field is None:
        return None
    value = getattr(spec, field)
    if field == "broadcasts":
        return None if value else "the op has no broadcasting inputs"
    return None if value is True else str(value)


def report(
    examples: int = 25, device: str = "cpu", names: list[str] | None = None, out: Any = sys.stdout
) -> int:
    """Print the table; return the number of FAIL cells."""
    specs = [s for s in SPECS if names is None or s.name in names]
    cuda = tg.cuda.is_available()
    header = ["op", *COLUMNS, "cpu", "cuda", "examples"]
    widths = [
        max(len(s.name) for s in specs + [OpSpec("op", abs, abs)]),
        *[max(len(h), 4) for h in header[1:]],
    ]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), file=out)
    failures, notes, start = [], {}, time.perf_counter()
    for spec in specs:
        cells, total = [], 0
        for column, (check, broadcast, field) in COLUMNS.items():
            reason = _reason(spec, field)
            if reason is not None:
                cells.append("n/a")
                if column != "broadcasting":
                    notes.setdefault(f"{spec.name} {column}", reason)
                continue
            ok, count, message = run_check(check, spec, examples, device, broadcast)
            total += count
            cells.append("pass" if ok else "FAIL")
            if not ok:
                failures.append(f"{spec.name} {column}: {message}")
        summary = "FAIL" if "FAIL" in cells else "pass"
        for other in ("cpu", "cuda"):
            if other == device:
                cells.append(summary)
            elif other == "cuda" and not cuda:
                cells.append("n/a")
            else:
                ok, count, message = run_check(check_device, spec, examples, other, False)
                total += count
                cells.append("pass" if ok else "FAIL")
                if not ok:
                    failures.append(f"{spec.name} {other}: {message}")
        row = [spec.name, *cells, str(total)]
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), file=out, flush=True)
    elapsed = time.perf_counter() - start
    print(f"\n{len(specs)} ops, {examples} hypothesis examples per check, {elapsed:.1f} s", file=out)
    print("broadcasting: n/a for ops without inputs that broadcast against each other", file=out)
    if not cuda:
        print("cuda: n/a (no CUDA device: tg.cuda.is_available() is False)", file=out)
    for key, reason in notes.items():
        print(f"n/a  {key}: {reason}", file=out)
    for failure in failures:
        print(f"FAIL {failure}", file=out)
    return len(failures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_lm.testing.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--examples", type=int, default=25, help="hypothesis examples per check (default 25)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the columns run")
    parser.add_argument("--ops", default=None, help="comma-separated op names (default: all)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not tg.cuda.is_available():
        print("--device cuda: CUDA is not available (tg.cuda.is_available() is False)", file=sys.stderr)
        return 2
    names = args.ops.split(",") if args.ops else None
    return 1 if report(args.examples, args.device, names) else 0


if __name__ == "__main__":
    sys.exit(main())
