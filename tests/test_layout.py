"""The package's layers: every module imports only from its own layer or the ones below it,
so the folders read as the architecture (README, "Layout")."""

import ast
from pathlib import Path

import ganforge

# lowest first; a module may import from its own layer and any earlier one
LAYERS = [
    ["errors", "config", "config_rules", "schedules", "__version__"],
    ["data", "nets"],
    ["losses", "objectives"],
    ["visuals"],
    ["training"],
    ["sampling"],
    ["metrics", "diagnostics", "games"],
    ["presets"],
    ["runner", "cli"],
    ["__init__", "__main__"],  # the package facade and the entry point
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
ROOT = Path(ganforge.__file__).parent


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ganforge"):
            parts = node.module.split(".")
            yield node.module, parts[1] if len(parts) > 1 else node.names[0].name
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "ganforge" and len(parts) > 1:
                    yield a.name, parts[1]


def test_every_top_level_module_and_package_has_a_layer():
    names = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").is_file())}
    assert names <= set(RANK), names - set(RANK)


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for path in ROOT.rglob("*.py"):
        own = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for module, target in _imports(path):
            if target in RANK and RANK[target] > RANK[own]:
                upward.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not upward, upward
