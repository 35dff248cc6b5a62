"""Save and load converted models: the Hugging Face folder plus lasnn's calibration, checked by sha256."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch.nn as nn
import transformers
from safetensors.torch import load_file, save_file

from .. import __version__
from ..fingerprint import code_fingerprint
from ..neurons import Neuron
from .api import mode as run_mode, prepare
from .calibrate import share_sites
from .config import LASConfig
from .state import Mode, get_state, is_converted

MANIFEST = "lasnn.json"
CALIBRATION = "lasnn_calibration.safetensors"
FORMAT_VERSION = 1


class ArtifactError(ValueError):
    """A saved lasnn model is missing, corrupted, edited, or belongs to another model."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _calibration_tensors(model: nn.Module) -> dict[str, Any]:
    tensors = {}
    for name, module in model.named_modules():
        if isinstance(module, Neuron):
            for key, value in module.calibration_state().items():
                tensors[f"{name}:{key}"] = value.detach().cpu().contiguous()
    return tensors


def save(model: nn.Module, out_dir: str | os.PathLike[str], tokenizer: Any = None, overwrite: bool = False) -> Path:
    """Write ``model`` (weights and config as ``save_pretrained``) and its calibration to ``out_dir``.

    The folder is written next to its destination and renamed into place: a failure leaves nothing half-written.
    """
    state = get_state(model)
    target = Path(out_dir)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(f"{target} exists and is not empty; choose a new folder or pass overwrite=True")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with run_mode(model, Mode.ANN.value):
            model.save_pretrained(staging)
        if tokenizer is not None:
            tokenizer.save_pretrained(staging)
        save_file(_calibration_tensors(model), str(staging / CALIBRATION))
        files = sorted(p.name for p in staging.iterdir() if p.is_file())
        manifest = {
            "format_version": FORMAT_VERSION,
            "lasnn_version": __version__,
            "code_fingerprint": code_fingerprint(),
            "model_class": type(model).__name__,
            "config": state.config.to_dict(),
            "shared_inputs": state.shared_inputs,
            "allowed_ann": state.allowed_ann,
            "sha256": {name: _sha256(staging / name) for name in files},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_manifest(path: Path) -> dict[str, Any]:
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{path} is not a lasnn model folder (no {MANIFEST}); save one with lasnn.save(model, folder)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{manifest_path} is corrupted ({error}); save the model again") from error
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{manifest_path} has format {manifest.get('format_version')!r}; this lasnn reads format {FORMAT_VERSION}")
    return manifest


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Every file recorded at save time is present and unchanged."""
    for name, expected in manifest["sha256"].items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"{file} is missing from the lasnn model folder; save the model again")
        if _sha256(file) != expected:
            raise ArtifactError(f"{file} was modified after lasnn.save (sha256 mismatch); restore it or save the model again")


def _restore_calibration(model: nn.Module, tensors: dict[str, Any]) -> None:
    by_module: dict[str, dict[str, Any]] = {}
    for key, value in tensors.items():
        name, _, field = key.rpartition(":")
        by_module.setdefault(name, {})[field] = value
    neurons = {name: module for name, module in model.named_modules() if isinstance(module, Neuron)}
    missing, unexpected = sorted(set(neurons) - set(by_module)), sorted(set(by_module) - set(neurons))
    if missing or unexpected:
        raise ArtifactError(
            f"the saved calibration does not match this model (missing {missing[:3]}, unexpected {unexpected[:3]}); "
            "the artifact belongs to another model or another lasnn version"
        )
    for name, module in neurons.items():
        module.load_calibration_state(by_module[name])


def load(path: str | os.PathLike[str], **from_pretrained_kwargs: Any) -> nn.Module:
    """Load a model written by :func:`save`, converted and calibrated exactly as it was (in "equivalent" mode)."""
    folder = Path(path)
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    model_class = getattr(transformers, manifest["model_class"], None)
    if model_class is None:
        raise ArtifactError(f"transformers has no class {manifest['model_class']!r}; install the transformers version it was saved with")
    model = model_class.from_pretrained(folder, **from_pretrained_kwargs).eval()
    attach(model, LASConfig.from_dict(manifest["config"]), manifest["shared_inputs"], load_file(str(folder / CALIBRATION)))
    return model


def attach(model: nn.Module, config: LASConfig, shared_inputs: list[list[str]], tensors: dict[str, Any]) -> nn.Module:
    """Convert ``model`` with a known calibration instead of calibration data (restored on any error)."""
    if is_converted(model):
        raise ValueError("this model is already converted")
    state, _ = prepare(model, config)
    try:
        modules = dict(model.named_modules())
        unknown = [name for group in shared_inputs for name in group if name not in modules]
        if unknown:
            raise ArtifactError(f"the saved site groups name modules this model does not have: {unknown[:3]}")
        state.shared_inputs = share_sites([[(name, modules[name]) for name in group] for group in shared_inputs])
        _restore_calibration(model, tensors)
        state.mode = Mode.EQUIVALENT
    except BaseException:
        state.rollback()
        raise
    return model
