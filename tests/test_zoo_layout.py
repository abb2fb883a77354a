"""The zoo's layout: no import cycles between its modules, only tinygrad_lm's public names, and no
file over the project's 400-line limit."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ZOO = Path(__file__).resolve().parents[1] / "zoo"
PRIVATE = re.compile(
    r"tinygrad_lm\.(backend|function|tensor|ops|serialization|shapes|autograd|creation)|_from_array"
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ZOO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``module -> zoo modules it imports`` from every import statement, module- or function-level
    (``from zoo import catalog`` counts as importing ``zoo.catalog``)."""
    files = {module_name(path): path for path in ZOO.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            targets.update(name for name in names if name in files)
        # a module's own packages are imported before it: not an edge of a cycle
        graph[module] = {t for t in targets if t != module and not module.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_zoo_has_no_import_cycles():
    graph = import_graph()
    assert {"zoo.cli", "zoo.compare", "zoo.commands.train", "zoo.models.ngram"} <= set(graph)
    assert "zoo.checkpoints" in graph["zoo.commands.train"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_only_the_compare_command_imports_the_comparison():
    graph = import_graph()
    users = {module for module, targets in graph.items() if "zoo.compare" in targets}
    assert users == {"zoo.commands.compare"}


def test_the_zoo_uses_only_public_tinygrad_lm_names():
    offending = [
        f"{path.relative_to(ZOO.parent)}:{number}: {line.strip()}"
        for path in sorted(ZOO.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert offending == []


def test_no_zoo_file_is_over_400_lines():
    lengths = {
        str(path.relative_to(ZOO.parent)): len(path.read_text().splitlines()) for path in ZOO.rglob("*.py")
    }
    assert {name: n for name, n in lengths.items() if n > 400} == {}
