"""How ``tinygrad_lm.testing`` imports: gradcheck without hypothesis (the ``test`` extra), hypothesis
never pulled in by ``import tinygrad_lm``, and no import cycles between the testing modules."""

from __future__ import annotations

import ast
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


PACKAGE = "tinygrad_lm.testing"


def _absolute(module: str | None, level: int) -> str:
    """The absolute name of a (possibly relative, from a module of this package) import."""
    if not level:
        return module or ""
    parent = PACKAGE.rsplit(".", level - 1)[0] if level > 1 else PACKAGE
    return ".".join(filter(None, [parent, module]))


def _callee(call: ast.Call) -> str:
    return getattr(call.func, "attr", getattr(call.func, "id", ""))


def _imported(node: ast.AST) -> set[str]:
    """The modules (or, for ``from package import name``, the names) one AST node imports: import
    and from statements, and ``import_module("...")`` calls with a constant name."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom):
        base = _absolute(node.module, node.level)
        return {f"{base}.{alias.name}" for alias in node.names} if base == PACKAGE else {base}
    if isinstance(node, ast.Call) and _callee(node) == "import_module":
        name = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else ""
        return {_absolute(name.lstrip("."), len(name) - len(name.lstrip(".")))}
    return set()


def _testing_imports(path: Path) -> set[str]:
    """The ``tinygrad_lm.testing`` modules that ``path`` imports, at module level or inside functions
    (the package itself, or a name defined in it, is ``__init__``)."""
    modules = {f"{PACKAGE}.{p.stem}" for p in TESTING.glob("*.py") if p.stem != "__init__"}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        for name in _imported(node):
            if name in modules:
                found.add(name)
            elif name == PACKAGE or name.rsplit(".", 1)[0] == PACKAGE:
                found.add(f"{PACKAGE}.__init__")
    found.discard(f"{PACKAGE}.{path.stem}")
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the testing modules it imports (``tinygrad_lm.testing`` itself is ``__init__``)."""
    return {f"{PACKAGE}.{path.stem}": _testing_imports(path) for path in sorted(TESTING.glob("*.py"))}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path of module names, or None (depth-first search)."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt] if nxt in path else [*path, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_testing_modules_import_each_other_in_one_direction() -> None:
    graph = import_graph()
    assert "tinygrad_lm.testing.registry" in graph
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


if __name__ == "__main__":  # the import graph, for a quick look
    for module, imported in import_graph().items():
        print(f"{module} -> {', '.join(sorted(imported)) or '-'}")
    print("cycle:", find_cycle(import_graph()))
