"""Print remyfold's import graph by room and floor (torch-free: reads the sources with :mod:`ast`).

A *room* is a top-level module or subpackage of ``remyfold`` (``api``, ``io``, ``model``, ...).
Each room stands on a *floor* (:data:`FLOORS`): ``model`` at the bottom, the files/metrics/weights
layer above it, ``api`` (the one door into the engine) above that, and the capabilities
(``pipeline``, ``report``, ``commands``, ``dock``, ``serve``, ``cluster``, ``targets``, ``fetch``) on top.
An arrow ``a -> b`` means some module of room ``a`` imports one of room ``b``. The house rule:
no arrow runs UP a floor, and no room below ``api`` imports ``remyfold.api`` (not even lazily,
inside a function).

Usage::

    python scripts/import_graph.py [--src src/remyfold] [--dot graph.dot]

Exit status 1 when an arrow runs up a floor or a lazy import of ``remyfold.api`` sits below it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "remyfold"
ENGINE = "api"
# Floors, bottom up. A room not named here is reported as unplaced (floor None) and breaks the check.
FLOORS: dict[str, int] = {
    "errors": 0, "model": 0, "_version": 0, "settings": 0, "prediction": 0, "threads": 0,
    "io": 1, "sequence": 1, "metrics": 1, "weights": 1, "loading": 1, "mapped": 1, "lm_storage": 1, "precision": 1,
    "allocator": 1, "devices": 1, "paging": 1, "memory_plan": 1,
    "api": 2,
    "pipeline": 3, "report": 3, "commands": 3, "dock": 3, "serve": 3, "cluster": 3, "targets": 3, "fetch": 3,
    "cli": 4, "__init__": 4,
}  # fmt: skip
FLOOR_NAMES = {0: "ground (model, torch-free basics)", 1: "files, metrics, weights, loading",
               2: "engine door (api)", 3: "capabilities", 4: "entry points"}  # fmt: skip


@dataclass(frozen=True)
class Import:
    """One import statement: from module ``source`` (its room) of module ``target`` (its room)."""

    source: str
    target: str
    line: int
    lazy: bool  # inside a function body
    where: str = ""  # the enclosing classes/functions, dotted ("EngineLoader.__call__")


@dataclass
class Graph:
    rooms: set[str] = field(default_factory=set)
    imports: list[Import] = field(default_factory=list)


def room_of(module: str) -> str:
    """``remyfold.io.fasta`` -> ``io``; ``remyfold`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, src: Path) -> str:
    """The dotted module name of ``path`` under the package folder ``src``."""
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str | None:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if node.level == 0:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The remyfold modules one import node brings in (``from remyfold import api`` -> remyfold.api)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE]
    if isinstance(node, ast.ImportFrom):
        base = _resolve(node, module, is_package)
        if not base or base.split(".")[0] != PACKAGE:
            return []
        if base == PACKAGE:  # from remyfold import api / __version__
            return [f"{PACKAGE}.{alias.name}" for alias in node.names]
        return [base]
    return []


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _walk(tree: ast.AST):
    """Yield ``(import node, inside a function?, enclosing scopes)`` for every import in ``tree``."""
    stack: list[tuple[ast.AST, bool, str]] = [(tree, False, "")]
    while stack:
        node, lazy, where = stack.pop()
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            scope = f"{where}.{child.name}".lstrip(".") if isinstance(child, _SCOPES) else where
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, lazy, where
            stack.append((child, inner, scope))


def build_graph(src: Path) -> Graph:
    """Parse every ``*.py`` under ``src`` (the ``remyfold`` package folder)."""
    graph = Graph()
    known: set[str] = set()
    files = sorted(src.rglob("*.py"))
    for path in files:
        known.add(module_name(path, src))
    for path in files:
        module = module_name(path, src)
        source_room = room_of(module)
        graph.rooms.add(source_room)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, lazy, where in _walk(tree):
            for target in _targets(node, module, path.name == "__init__.py"):
                if target not in known and target.rsplit(".", 1)[0] in known:
                    target = target.rsplit(".", 1)[0]  # from remyfold.x import name
                if target == PACKAGE and source_room == "__init__":
                    continue
                graph.imports.append(Import(module, target, node.lineno, lazy, where))
    return graph


def arrows(graph: Graph) -> dict[tuple[str, str], list[Import]]:
    """Room-to-room arrows (self-arrows dropped), each with the imports behind it."""
    found: dict[tuple[str, str], list[Import]] = {}
    for imp in graph.imports:
        a, b = room_of(imp.source), room_of(imp.target)
        if a != b:
            found.setdefault((a, b), []).append(imp)
    return dict(sorted(found.items()))


def upward(found: dict[tuple[str, str], list[Import]]) -> list[tuple[str, str]]:
    """Arrows from a room to a room on a higher floor (or to/from an unplaced room)."""
    bad = []
    for a, b in found:
        fa, fb = FLOORS.get(a), FLOORS.get(b)
        if fa is None or fb is None or fb > fa:
            bad.append((a, b))
    return bad


def lazy_engine_imports(graph: Graph) -> list[Import]:
    """Every function-level import of ``remyfold.api`` (outside ``api`` itself)."""
    return [imp for imp in graph.imports
            if imp.lazy and imp.target == f"{PACKAGE}.{ENGINE}" and room_of(imp.source) != ENGINE]  # fmt: skip


def is_loader(imp: Import) -> bool:
    """A lazy import of the engine that loads it: inside a loader class or function (``EngineLoader``,
    ``load_folder``) of a room above ``api``, or the package's own lazy ``Folder`` attribute."""
    room = room_of(imp.source)
    if room == "__init__":
        return True
    above = FLOORS.get(room, -1) > FLOORS[ENGINE]
    return above and "load" in imp.where.lower()


def misplaced_engine_imports(graph: Graph) -> list[Import]:
    """Lazy imports of ``remyfold.api`` from rooms below it, or above it but not in a loader
    (a torch-free helper fetched from the torch-heavy engine module)."""
    return [imp for imp in lazy_engine_imports(graph) if not is_loader(imp)]


def measured_floors(graph: Graph) -> dict[str, int]:
    """Each room's floor as the imports make it: 0 for a room that imports no other room, else one
    above the highest room it imports (every import counts, lazy ones too; rooms in a cycle share
    the cycle's floor)."""
    edges: dict[str, set[str]] = {room: set() for room in graph.rooms}
    for a, b in arrows(graph):
        edges.setdefault(a, set()).add(b)
        edges.setdefault(b, set())
    floor: dict[str, int] = {}

    def visit(room: str, path: tuple[str, ...]) -> int:
        if room in floor:
            return floor[room]
        below = [visit(b, path + (room,)) + 1 for b in edges[room] if b not in path and b != room]
        floor[room] = max(below, default=0)
        return floor[room]

    for room in sorted(edges):
        visit(room, ())
    return floor


def report(graph: Graph) -> tuple[str, bool]:
    """The text report and whether the house rule holds."""
    found = arrows(graph)
    up = upward(found)
    lazy = lazy_engine_imports(graph)
    misplaced = misplaced_engine_imports(graph)
    lines = [f"rooms: {len(graph.rooms)}"]
    floors: dict[int | None, list[str]] = {}
    for room in sorted(graph.rooms):
        floors.setdefault(FLOORS.get(room), []).append(room)
    for floor in sorted(floors, key=lambda f: 99 if f is None else f):
        name = FLOOR_NAMES.get(floor, "UNPLACED") if floor is not None else "UNPLACED"
        lines.append(f"  floor {floor} ({name}): {', '.join(floors[floor])}")
    lines.append(f"floors used: {len([f for f in floors if f is not None])}")
    lines.append(f"arrows: {len(found)}")
    for (a, b), imps in found.items():
        marks = " UP" if (a, b) in up else ""
        n_lazy = sum(i.lazy for i in imps)
        lazy_note = f" ({n_lazy} lazy)" if n_lazy else ""
        lines.append(f"  {a} -> {b}: {len(imps)} import(s){lazy_note}{marks}")
    lines.append(f"upward arrows: {len(up)}")
    for a, b in up:
        for imp in found[(a, b)]:
            lines.append(f"  UP {imp.source}:{imp.line} imports {imp.target}")
    lines.append(f"lazy imports of {PACKAGE}.{ENGINE}: {len(lazy)} ({len(misplaced)} outside a loader)")
    for imp in lazy:
        kind = "loader" if is_loader(imp) else "LAZY-API"
        lines.append(f"  {kind} {imp.source}:{imp.line} in {imp.where or '<module>'}")
    measured = measured_floors(graph)
    lines.append(f"measured floors (longest import chain down to a room importing no other): "
                 f"{max(measured.values(), default=0) + 1}")
    by_floor: dict[int, list[str]] = {}
    for room, floor in measured.items():
        by_floor.setdefault(floor, []).append(room)
    for floor in sorted(by_floor):
        lines.append(f"  measured floor {floor}: {', '.join(sorted(by_floor[floor]))}")
    return "\n".join(lines) + "\n", not up and not misplaced


def dot(graph: Graph) -> str:
    """The room graph in Graphviz dot, one rank per floor; upward arrows red, lazy-only dashed."""
    found = arrows(graph)
    up = set(upward(found))
    out = ["digraph remyfold {", "  rankdir=BT;", "  node [shape=box, fontname=Helvetica];"]
    floors: dict[int | None, list[str]] = {}
    for room in sorted(graph.rooms):
        floors.setdefault(FLOORS.get(room), []).append(room)
    for floor, rooms in floors.items():
        out.append("  { rank=same; " + " ".join(f'"{r}";' for r in rooms) + " }")
    for (a, b), imps in found.items():
        style = []
        if (a, b) in up:
            style.append("color=red")
        if all(i.lazy for i in imps):
            style.append("style=dashed")
        out.append(f'  "{a}" -> "{b}"' + (f" [{', '.join(style)}]" if style else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_src = Path(__file__).resolve().parents[1] / "src" / PACKAGE
    parser.add_argument("--src", type=Path, default=default_src, help="the remyfold package folder")
    parser.add_argument("--dot", type=Path, metavar="FILE", help="also write the room graph as Graphviz dot")
    args = parser.parse_args(argv)
    graph = build_graph(args.src)
    text, ok = report(graph)
    sys.stdout.write(text)
    if args.dot:
        args.dot.write_text(dot(graph), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
