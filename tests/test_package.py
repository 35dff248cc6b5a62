"""The package's shape: its public face, and imports that never run back up the layers."""

import ast
from pathlib import Path

import lasnn

SOURCE = Path(lasnn.__file__).parent

#: lower layers first; a module may import its own layer and the ones before it (utilities are free for all)
LAYERS = (("neurons",), ("ops",), ("config",), ("modules",), ("convert",), ("metrics",), ("eval", "studies"),
          ("cli_report", "cli"))
UTILITIES = ("_version", "jsonio", "fingerprint", "assets")


def test_every_public_name_resolves_and_convert_is_the_function_after_any_submodule_import():
    import lasnn.convert.api  # noqa: F401  (importing the subpackage must not shadow the function)

    assert all(getattr(lasnn, name) is not None for name in lasnn.__all__)
    assert callable(lasnn.convert) and lasnn.convert.__module__ == "lasnn.convert.api"


def _layer(package: str) -> int | None:
    return next((i for i, names in enumerate(LAYERS) if package in names), None)


def _imported_packages(path: Path) -> set[str]:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ("lasnn", *parts[:-1])[: len(parts) + 1 - node.level]
            target = (*base, *(node.module.split(".") if node.module else ()))
            if len(target) > 1:
                found.add(target[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lasnn."):
            found.add(node.module.split(".")[1])
    return found


def test_no_import_runs_back_up_the_layers():
    upward = []
    for path in SOURCE.rglob("*.py"):
        package = path.relative_to(SOURCE).with_suffix("").parts[0]
        own = _layer(package)
        if own is None:
            continue
        for target in _imported_packages(path) - {package}:
            layer = _layer(target)
            if target not in UTILITIES and (layer is None or layer > own):
                upward.append(f"{path.relative_to(SOURCE)} imports {target}")
    assert upward == []
