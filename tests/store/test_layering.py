"""store/ imports nothing from the floors above it, and its modules import no circle.

The layering: errors, _limits < otp < config < store < audit < state < ... ;
a store is used by logins, the web and the CLI, never the other way round,
not even for type checking.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import otpgate.store

STORE = Path(otpgate.store.__file__).parent
SRC = STORE.parent.parent
BELOW = ("otpgate.store", "otpgate.otp", "otpgate.config", "otpgate.errors", "otpgate._limits")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p) for p in SRC.joinpath("otpgate").rglob("*.py")}


def otpgate_imports(path: Path) -> set[str]:
    """The otpgate modules ``path`` imports (relative imports resolved), anywhere in it.

    ``from . import x`` imports the module ``x`` when there is one, not the package.
    """
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            submodules = {f"{target}.{a.name}" for a in node.names} & MODULES
            found |= submodules or {target}
    return {m for m in found if m == "otpgate" or m.startswith("otpgate.")}


@pytest.mark.parametrize(
    "path", sorted(STORE.rglob("*.py")), ids=lambda p: str(p.relative_to(STORE))
)
def test_store_imports_only_from_below(path: Path) -> None:
    above = {m for m in otpgate_imports(path) if not m.startswith(BELOW)}
    assert not above, f"{path.relative_to(STORE)} imports {sorted(above)}"


def test_the_check_sees_an_import_from_above() -> None:
    # A module of a higher floor importing the store is caught by the same check.
    login = STORE.parent / "login" / "compare_and_set.py"
    assert {m for m in otpgate_imports(login) if not m.startswith(BELOW)}


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or round about."""

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in graph.get(todo.pop(), set()) - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    found: list[set[str]] = []
    for module in graph:
        group = {m for m in reach(module) if module in reach(m)}
        if group and group not in found:
            found.append(group)
    return found


def test_no_import_circle_inside_the_store() -> None:
    graph = {
        module_name(p): {m for m in otpgate_imports(p) if m.startswith("otpgate.store")}
        for p in STORE.rglob("*.py")
    }
    assert circles(graph) == []
    # The check finds a circle where there is one.
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
