"""The package's shape: no import cycles (imports inside functions count too), dependencies pointing one way
between its layers, and modules and functions of a readable size."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "licodec"

# Lower layers never import higher ones (a module may import its own layer and any below it).
LAYERS = [
    {"layers"},
    {"entropy", "context"},
    {"models"},
    {"coding", "fast", "image", "files"},
    {"losses", "refine", "codec", "zoo"},
    {"eval", "train", "pillow"},
    {"cli", "__main__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Every licodec module that ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in known and n.startswith("licodec"))
    me = module_name(path)
    # a module's own packages are imported before it anyway ("from licodec.cli import codec" in licodec.cli.main)
    return {n for n in found if n != me and not me.startswith(n + ".")}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known) for name, path in known.items()}


def cycle_in(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node], _ = 2, path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_detector_finds_a_cycle():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_package_has_no_import_cycle():
    assert cycle_in(graph()) is None, f"import cycle: {' -> '.join(cycle_in(graph()))}"


def layer_of(module: str) -> int | None:
    top = module.split(".")[1] if "." in module else ""
    return next((i for i, names in enumerate(LAYERS) if top in names), None)


def test_dependencies_point_one_way():
    wrong = [
        f"{a} -> {b}"
        for a, targets in graph().items()
        for b in targets
        if layer_of(a) is not None and layer_of(b) is not None and layer_of(b) > layer_of(a)
    ]
    assert not wrong, "lower layers import higher ones: " + ", ".join(sorted(wrong))


def test_every_top_level_module_has_a_layer():
    tops = {m.split(".")[1] for m in modules() if "." in m}
    assert all(layer_of(f"licodec.{t}") is not None for t in tops - {"weights", "data"}), tops


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_readable(path):
    source = path.read_text()
    assert len(source.splitlines()) <= 320, f"{path.name} has {len(source.splitlines())} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno - node.lineno < 60, f"{path.name}: {node.name} is over 60 lines"
