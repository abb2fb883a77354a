"""The promises of docs/ARCHITECTURE.md, counted by the suite rather than hoped for.

* No import cycle among the modules of ``tinygrad_lm`` or of ``zoo``: imports at module level and
  inside functions alike (a function-local import that dodges a cycle is still a cycle); only
  ``if TYPE_CHECKING:`` imports, which never run, are left out.
* ``tinygrad_lm`` never imports ``zoo``; the ops never import ``tensor.py``; the zoo uses only the
  library's public names, and only the ``compare`` command imports the comparison.
* Every Python file is under 400 lines, or says at its top why it is longer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tinygrad_lm", "zoo")
MAX_LINES = 400
LONG_FILE_REASON = "Longer than 400 lines because"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports anywhere in its file (``from P import m`` names P.m if
    that is a module, else P)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            target = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else ""
            found.add(package + target if target.startswith(".") else target)
    # a module's own packages are imported before it: not an edge of a cycle
    return {m for m in found if m in known and m != name and not name.startswith(m + ".")}


def runtime_nodes(tree: ast.AST):
    """Every node, except those under ``if TYPE_CHECKING:`` (annotations only: never imported)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a list of modules (the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for start in sorted(graph):
        if state.get(start):
            continue
        path, iterators = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while path:
            step = next(iterators[-1], None)
            if step is None:
                state[path.pop()] = 2
                iterators.pop()
            elif state.get(step) == 1:
                return path[path.index(step) :] + [step]
            elif not state.get(step):
                state[step] = 1
                path.append(step)
                iterators.append(iter(sorted(graph[step])))
    return None


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_sees_module_and_function_level_imports():
    graph = import_graph()
    assert {"zoo.cli", "zoo.compare", "zoo.commands.train", "zoo.models.ngram"} <= set(graph)
    assert "zoo.checkpoints" in graph["zoo.commands.train"]
    assert "tinygrad_lm.function" in graph["tinygrad_lm.ops.elementwise"]
    assert "tinygrad_lm.testing.specs" in graph["tinygrad_lm.testing.registry"]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    graph = {m: {d for d in deps if d.split(".")[0] == package} for m, deps in import_graph().items()}
    graph = {m: deps for m, deps in graph.items() if m.split(".")[0] == package}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_library_never_imports_the_zoo_and_the_ops_never_import_tensor():
    graph = import_graph()
    for module, deps in graph.items():
        if module.startswith("tinygrad_lm"):
            assert not any(d.startswith("zoo") for d in deps), module
        if module.startswith("tinygrad_lm.ops"):
            assert "tinygrad_lm.tensor" not in deps, module


def test_only_the_compare_command_imports_the_comparison():
    users = {module for module, targets in import_graph().items() if "zoo.compare" in targets}
    assert users == {"zoo.commands.compare"}


PRIVATE = re.compile(
    r"tinygrad_lm\.(backend|function|tensor|ops|serialization|shapes|autograd|creation|dtypes)|_from_array"
)


def test_the_zoo_uses_only_public_library_names():
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "zoo").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert offending == []


def test_every_file_is_short_or_says_why():
    long = []
    for path in sorted(modules().values()):
        text = path.read_text()
        if text.count("\n") > MAX_LINES and LONG_FILE_REASON not in text[:2000]:
            long.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert not long, f"over {MAX_LINES} lines without a reason at the top: {long}"
