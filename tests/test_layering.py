"""The shape of app/: no import circle among its modules, no import tucked inside a function to dodge one, and no
module past 400 lines (docs/architecture.md: split a file by responsibility when it grows past that)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in APP.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The module of app/ that `name` (a module, or a name inside one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    # `from app.x import y`: the module app.x.y when there is one, else a name defined in app.x.
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported app module, line, inside a function) for every import of an app module; type-only imports
    (under `if TYPE_CHECKING:`) are not imports at run time and are left out."""
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking_block(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                targets = {_resolve(name) for name in _imported_names(child, module, path.name == "__init__.py")
                           if name == "app" or name.startswith("app.")}
                found.extend((target, child.lineno, in_function) for target in targets if target and target != module)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(vertex: str) -> None:
        index[vertex] = low[vertex] = len(index)
        stack.append(vertex)
        on_stack.add(vertex)
        for other in edges.get(vertex, ()):
            if other not in index:
                connect(other)
                low[vertex] = min(low[vertex], low[other])
            elif other in on_stack:
                low[vertex] = min(low[vertex], index[other])
        if low[vertex] == index[vertex]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == vertex:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for vertex in sorted(edges):
        if vertex not in index:
            connect(vertex)
    return cycles


def test_no_import_inside_a_function_in_app():
    inside = [f"{module}:{line} imports {target}" for module, path in sorted(MODULES.items())
              for target, line, in_function in _imports(module, path) if in_function]
    assert inside == [], "import at the module's top (fix the layering if that makes a circle):\n" + "\n".join(inside)


def test_no_import_circle_among_app_modules():
    edges = {module: {target for target, _line, _inner in _imports(module, path)} for module, path in MODULES.items()}
    assert _cycles(edges) == []


def test_the_checks_see_a_circle_and_a_hidden_import(tmp_path):
    # The checker itself must be able to fail: a made-up circle a → b → c → a, and an import in a function.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = tmp_path / "example.py"
    source.write_text("from typing import TYPE_CHECKING\nfrom app.config import Config\nif TYPE_CHECKING:\n"
                      "    from app.clinics.models import Clinic\ndef f():\n    from app.db import utcnow\n",
                      encoding="utf-8")
    assert _imports("app.example", source) == [("app.config", 2, False), ("app.db", 6, True)]


def test_no_module_in_app_past_400_lines():
    long = [f"{path.relative_to(APP.parent)} ({n} lines)" for path in sorted(APP.rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []
