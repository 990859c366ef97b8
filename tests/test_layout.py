"""The layout of confer/: no import circle among its modules, and no unexplained
function-level import in a service.

The graph is read from the source with `ast`: every `import confer…` and `from confer… import`
counts, at module level and inside functions alike, so a circle cannot hide behind an import
moved into a function. Imports under `if TYPE_CHECKING:` are left out: they never run, and
name types only (confer/keys.py names the type of every application key that way)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "confer"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _package(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported confer module, line, inside a function) for each import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test):
                for other in child.orelse:
                    visit(ast.Module(body=[other], type_ignores=[]), in_function)
                continue
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "confer":
                        out.append((alias.name, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from its package upwards
                    pkg = _package(name, path).split(".")
                    pkg = pkg[: len(pkg) - child.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                if base.split(".")[0] != "confer":
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    out.append((sub if sub in known else base, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    mods = modules(root)
    known = set(mods)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target, _line, _in_function in imports(name, path, known):
            if target in known and target != name:
                edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle (as a path that returns to its start) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            connect(v)

    found = []
    for component in components:
        start = min(component)
        # The shortest way back to the start, inside the component (breadth first).
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:
            nxt = []
            for v in frontier:
                for w in sorted(edges[v] & component):
                    if w not in previous:
                        previous[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [start]
        v = previous[start]
        while v != start:
            path.append(v)
            v = previous[v]
        found.append([start, *reversed(path[1:]), start])
    return found


# Circles known and owed (none now). An entry here must name a circle that still exists: once
# it is gone, the test below asks for the entry to go too.
KNOWN: list[set[str]] = []


def test_no_import_circle() -> None:
    found = cycles(graph())
    new = [c for c in found if set(c) not in KNOWN]
    assert not new, "import circles in confer/: " + "; ".join(" -> ".join(c) for c in new)
    gone = [k for k in KNOWN if k not in [set(c) for c in found]]
    assert not gone, f"no longer a circle, remove it from KNOWN in tests/test_layout.py: {gone}"


def unexplained_function_imports(root: Path = ROOT) -> list[str]:
    mods = modules(root)
    known = set(mods)
    out = []
    for name, path in mods.items():
        if path.name != "service.py":
            continue
        lines = path.read_text().splitlines()
        for _target, line, in_function in imports(name, path, known):
            if not in_function:
                continue
            same = lines[line - 1]
            before = lines[line - 2].strip() if line >= 2 else ""
            if "#" not in same and not before.startswith("#"):
                out.append(f"{path.relative_to(root.parent)}:{line}: {same.strip()}")
    return out


def test_function_level_imports_in_services_say_why() -> None:
    found = unexplained_function_imports()
    assert not found, "function-level imports without a comment saying why:\n" + "\n".join(found)


# --- the checks themselves, on small made-up packages ------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "confer"
    for rel, text in files.items():
        p = pkg / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return pkg


def test_a_circle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/service.py": "from confer.b import service as b\n",
            "b/__init__.py": "",
            "b/service.py": "def f():\n    from confer.c import thing\n",
            "c.py": "import confer.a.service\nthing = 1\n",
        },
    )
    found = cycles(graph(pkg))
    assert found == [["confer.a.service", "confer.b.service", "confer.c", "confer.a.service"]]


def test_imports_for_type_checking_only_are_left_out(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from confer import b\n",
            "b.py": "import confer.a\n",
        },
    )
    assert cycles(graph(pkg)) == []
    assert graph(pkg) == {"confer": set(), "confer.a": set(), "confer.b": {"confer.a"}}


def test_no_circle_in_a_tree(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from confer import b, c\n",
            "b.py": "from confer.c import x\n",
            "c.py": "x = 1\n",
        },
    )
    assert cycles(graph(pkg)) == []


def test_a_function_level_import_needs_a_comment(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/service.py": (
                "def f():\n"
                "    from confer import b\n"
                "def g():\n"
                "    # b imports this module at start-up\n"
                "    from confer import b\n"
                "def h():\n"
                "    import confer.b  # lazily: heavy\n"
                "def i():\n"
                "    import json\n"
            ),
            "b.py": "",
        },
    )
    assert unexplained_function_imports(pkg) == ["confer/a/service.py:2: from confer import b"]
