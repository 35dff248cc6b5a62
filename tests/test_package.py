"""The package's shape: a lazy face, and imports that never run back up the layers."""

import ast
import subprocess
import sys
from pathlib import Path

import lasnn

SOURCE = Path(lasnn.__file__).parent

#: lower layers first; a module may import its own layer and the ones before it (utilities are free for all)
LAYERS = (("neurons",), ("ops",), ("config",), ("modules",), ("convert",), ("metrics",), ("eval", "studies"),
          ("cli_report", "cli"))
UTILITIES = ("_version", "jsonio", "fingerprint", "assets")


def test_import_lasnn_loads_neither_torch_nor_transformers_until_a_name_is_used():
    code = ("import sys, lasnn; before = {'torch', 'transformers'} & set(sys.modules); lasnn.LASConfig; "
            "print(sorted(before), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "True"]


def test_every_public_name_resolves_and_unknown_names_are_attribute_errors():
    assert all(getattr(lasnn, name) is not None for name in lasnn.__all__)
    assert set(lasnn.__all__) == {"__version__", *lasnn._HOME_OF}
    try:
        lasnn.no_such_name
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("lasnn.no_such_name did not raise")


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
