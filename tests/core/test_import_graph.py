"""The house's floors hold: no import runs back up, no room below api imports it (scripts/import_graph.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "import_graph.py"
SRC = ROOT / "src" / "remyfold"


def _load():
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


graph_tool = _load()


@pytest.fixture(scope="module")
def graph():
    return graph_tool.build_graph(SRC)


def test_every_room_has_a_floor(graph):
    assert sorted(room for room in graph.rooms if room not in graph_tool.FLOORS) == []


def test_no_import_runs_back_up_a_floor(graph):
    found = graph_tool.arrows(graph)
    up = [f"{imp.source}:{imp.line} -> {imp.target}" for pair in graph_tool.upward(found) for imp in found[pair]]
    assert up == []


def test_no_lazy_import_of_api_outside_a_loader(graph):
    misplaced = graph_tool.misplaced_engine_imports(graph)
    assert [f"{imp.source}:{imp.line} in {imp.where}" for imp in misplaced] == []


def test_the_pipeline_reaches_api_only_through_its_loader(graph):
    imports = [imp for imp in graph.imports if imp.source == "remyfold.pipeline" and imp.target == "remyfold.api"]
    assert imports and all(imp.where.startswith("EngineLoader.") for imp in imports)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "remyfold"
    for name, text in {"__init__.py": "", "api.py": "", **files}.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return src


def test_the_checks_catch_what_they_look_for(tmp_path):
    src = _package(tmp_path, {
        "io/__init__.py": "",
        "io/writer.py": "from remyfold import __version__\n\ndef f():\n    from remyfold.api import LINKER\n",
        "pipeline.py": "def plan():\n    from remyfold.api import plan_batches\n\n"
                       "class EngineLoader:\n    def __call__(self):\n        from remyfold.api import Folder\n",
        "model/__init__.py": "from ..io import writer\n",
    })  # fmt: skip
    graph = graph_tool.build_graph(src)
    up = set(graph_tool.upward(graph_tool.arrows(graph)))
    assert up == {("io", "__init__"), ("io", "api"), ("model", "io")}
    misplaced = {(imp.source, imp.where) for imp in graph_tool.misplaced_engine_imports(graph)}
    assert misplaced == {("remyfold.io.writer", "f"), ("remyfold.pipeline", "plan")}
    text, ok = graph_tool.report(graph)
    assert not ok and "upward arrows: 3" in text


def test_the_script_runs_without_torch_and_writes_dot(tmp_path):
    dot = tmp_path / "graph.dot"
    code = ("import sys, runpy; sys.modules['torch'] = None; sys.argv = ['import_graph', '--dot', sys.argv[1]]; "
            f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code, str(dot)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "upward arrows: 0" in result.stdout
    assert dot.read_text().startswith("digraph remyfold {") and '"pipeline" -> "io"' in dot.read_text()
