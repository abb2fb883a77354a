"""How ``tinygrad_lm.testing`` imports: gradcheck without hypothesis (the ``test`` extra), hypothesis
never pulled in by ``import tinygrad_lm``, and no import cycles between the testing modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTING = ROOT / "tinygrad_lm" / "testing"

BLOCK_HYPOTHESIS = """
import sys
from importlib.abc import MetaPathFinder

class NoHypothesis(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ImportError(f"{name} is blocked by the test")

sys.meta_path.insert(0, NoHypothesis())
sys.modules.pop("hypothesis", None)
"""


def _run(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that imports this checkout's tinygrad_lm."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_gradcheck_imports_and_runs_without_hypothesis() -> None:
    code = (
        BLOCK_HYPOTHESIS
        + """
import tinygrad_lm as tg
from tinygrad_lm.testing import gradcheck, gradgradcheck

x = tg.Tensor([0.3, -1.2, 2.0], dtype="float64", requires_grad=True)
assert gradcheck(lambda t: (t.tanh() * t).sum(), [x])
assert gradgradcheck(lambda t: (t.tanh() * t).sum(), [x])
try:
    import tinygrad_lm.testing.strategies
except ImportError:
    pass
else:
    raise AssertionError("strategies imported although hypothesis is blocked")
print("ok")
"""
    )
    result = _run(code)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_importing_tinygrad_lm_does_not_import_hypothesis() -> None:
    code = """
import sys
import tinygrad_lm
import tinygrad_lm.testing
from tinygrad_lm.testing import gradcheck
loaded = sorted(m for m in sys.modules if m == "hypothesis" or m.startswith("hypothesis."))
assert not loaded, loaded
print("ok")
"""
    result = _run(code)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_strategies_is_reachable_from_the_package() -> None:
    """The README's ``from tinygrad_lm.testing import gradcheck, strategies`` (hypothesis installed)."""
    import tinygrad_lm.testing as testing
    from tinygrad_lm.testing import strategies

    assert testing.strategies is strategies and callable(strategies.tensors)
