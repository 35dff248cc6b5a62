"""lasnn.json, the manifest of a saved conversion: its schema, and a checksum over itself that lasnn verifies.

The manifest records the conversion (class, config, shared sites) and the sha256 of every file beside it; the entry
``manifest_sha256`` is the sha256 of the rest of the manifest in canonical JSON, so an edited manifest is detected
like an edited weight file. Every defect is an :class:`ArtifactError` that names the file and the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import LASConfig

MANIFEST = "lasnn.json"
CALIBRATION = "lasnn_calibration.safetensors"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 2
DIGEST = "manifest_sha256"
WEIGHTS_SUFFIX = ".safetensors"
# safetensors weights, and the JSON / plain-text files of a config and a tokenizer: nothing that is unpickled or run
ALLOWED_SUFFIXES = (WEIGHTS_SUFFIX, ".json", ".txt", ".model", ".jinja", ".tiktoken")
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class ArtifactError(ValueError):
    """A saved lasnn model is missing, corrupted, edited, or belongs to another model."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_threshold_pair(value: Any) -> bool:
    return value is None or (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value)))


FIELDS: dict[str, Callable[[Any], bool]] = {
    "format_version": _is_int,
    "lasnn_version": lambda value: isinstance(value, str),
    "code_fingerprint": lambda value: isinstance(value, str),
    "model_class": lambda value: isinstance(value, str),
    "config": lambda value: isinstance(value, dict),
    "shared_inputs": lambda value: isinstance(value, list) and all(map(_is_str_list, value)),
    "allowed_ann": _is_str_list,
    "sha256": lambda value: isinstance(value, dict),
}
# JSON shape of each LASConfig field, by its annotation (a field with another annotation is left to LASConfig)
CONFIG_TYPES: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": _is_number,
    "str": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "tuple[str, ...]": _is_str_list,
    "tuple[float, float] | None": _is_threshold_pair,
}


def digest(manifest: dict[str, Any]) -> str:
    """sha256 of ``manifest`` without its own digest, as canonical JSON (sorted keys, no spaces)."""
    body = {key: value for key, value in manifest.items() if key != DIGEST}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` with its checksum to ``folder / lasnn.json``."""
    (folder / MANIFEST).write_text(json.dumps({**manifest, DIGEST: digest(manifest)}, indent=2), encoding="utf-8")


def check_file_name(name: str, where: str) -> None:
    """``name`` is a plain file name of an allowed kind (safetensors or JSON/text, never a pickle or code)."""
    if not name or name != Path(name).name or name in (".", "..") or name.startswith(".") or "\\" in name:
        raise ArtifactError(f"{where} lists {name!r} in sha256, which is not a plain file name; save the model again")
    if not name.endswith(ALLOWED_SUFFIXES):
        raise ArtifactError(f"{where} lists {name!r}: lasnn loads only safetensors weights and JSON/text files, never "
                            "pickles (.bin, .pt, .pkl, ...) or code; save the model again with lasnn.save")


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the lasnn folder ``folder``, checked against its checksum and its schema."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{folder} is not a lasnn model folder (no {MANIFEST}); save one with lasnn.save(model, folder)")
    manifest = _parse(path)
    _check_format(path, manifest)
    if manifest.get(DIGEST) is None:
        raise ArtifactError(f"{path} carries no checksum ({DIGEST}); save the model again with lasnn.save")
    if manifest[DIGEST] != digest(manifest):
        raise ArtifactError(f"{path} was modified after lasnn.save (its checksum does not match); "
                            "restore it or save the model again")
    _check_schema(path, manifest)
    return manifest


def _parse(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:
        raise ArtifactError(f"{path} is corrupted ({type(error).__name__}: {error}); save the model again") from None


def _check_format(path: Path, manifest: Any) -> None:
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} holds a JSON {type(manifest).__name__}, not an object; save the model again")
    version = manifest.get("format_version")
    if _is_int(version) and version == 1:
        raise ArtifactError(f"{path} was written by an older lasnn (manifest format 1, not covered by a checksum); "
                            "convert the model and save it again")
    if not _is_int(version) or version != FORMAT_VERSION:
        raise ArtifactError(f"{path} has manifest format {version!r}; this lasnn reads format {FORMAT_VERSION}: "
                            "save it again with this lasnn")


def _check_schema(path: Path, manifest: dict[str, Any]) -> None:
    missing = sorted(set(FIELDS) - set(manifest))
    unknown = sorted(set(manifest) - set(FIELDS) - {DIGEST})
    if missing or unknown:
        raise ArtifactError(f"{path} lacks {missing} and has unknown entries {unknown}; save the model again")
    wrong = [key for key, check in FIELDS.items() if not check(manifest[key])]
    if wrong:
        raise ArtifactError(f"{path} has entries of the wrong type: {wrong}; save the model again")
    _check_checksums(path, manifest["sha256"])
    _check_shared_inputs(path, manifest["shared_inputs"])


def _check_checksums(path: Path, table: dict[str, Any]) -> None:
    if not table:
        raise ArtifactError(f"{path} records no files (its sha256 table is empty, which would verify nothing); "
                            "save the model again")
    for name, value in table.items():
        check_file_name(name, str(path))
        if not isinstance(value, str) or not HEX_DIGEST.fullmatch(value):
            raise ArtifactError(f"{path} has no valid sha256 for {name!r} (got {value!r}); save the model again")
    for name in (CONFIG_FILE, CALIBRATION):
        if name not in table:
            raise ArtifactError(f"{path} records no sha256 for {name}; save the model again")
    if not any(name.endswith(WEIGHTS_SUFFIX) and name != CALIBRATION for name in table):
        raise ArtifactError(f"{path} records no sha256 for safetensors weights (model.safetensors); "
                            "save the model again")


def _check_shared_inputs(path: Path, groups: list[list[str]]) -> None:
    names = [name for group in groups for name in group]
    if any(len(group) < 2 for group in groups) or len(set(names)) != len(names):
        raise ArtifactError(f"{path} has shared_inputs that are not disjoint groups of two or more modules; "
                            "save the model again")


def model_class(path: Path, name: str) -> type:
    """The transformers model class named ``name`` in the manifest ``path``."""
    import transformers

    try:
        cls = getattr(transformers, name, None) if name.isidentifier() else None
    except (ImportError, RuntimeError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)):
        raise ArtifactError(f"{path}: model_class {name!r} is not a transformers model class; save the model again, "
                            "or install the transformers version it was saved with")
    return cls


def conversion_config(path: Path, data: dict[str, Any]) -> LASConfig:
    """The LASConfig recorded in the manifest ``path``: every field present, each of its JSON type, and valid."""
    fields = {field.name: field for field in dataclasses.fields(LASConfig)}
    missing, unknown = sorted(set(fields) - set(data)), sorted(set(data) - set(fields))
    if missing or unknown:
        raise ArtifactError(f"{path}: the conversion config lacks {missing} and has unknown fields {unknown}; "
                            "save the model again")
    wrong = [name for name, field in fields.items() if not CONFIG_TYPES.get(str(field.type), lambda _: True)(data[name])]
    if wrong:
        raise ArtifactError(f"{path}: the conversion config has fields of the wrong type: {wrong}; save the model again")
    try:
        return LASConfig.from_dict(data)
    except (TypeError, ValueError) as error:
        raise ArtifactError(f"{path}: the conversion config is invalid ({error}); save the model again") from None
