"""Save and load converted models: the Hugging Face folder plus lasnn's calibration, all checked by sha256.

Only safetensors and JSON/text files are written and read (never a pickle, never code); the manifest lasnn.json
lists the sha256 of every file and is itself checksummed (see :mod:`.manifest`); a folder is replaced only if
lasnn wrote it, and atomically (see :mod:`.folders`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .._version import __version__
from ..assets.models import _quiet, refuse_remote_code
from ..config import LASConfig
from ..fingerprint import code_fingerprint
from ..modules.state import ConversionState, Mode, get_state, is_converted
from ..neurons import Neuron
from .api import build_spiking
from .api import mode as run_mode
from .calibrate import share_sites
from .folders import check_target, staged
from .manifest import (
    CALIBRATION,
    FORMAT_VERSION,
    MANIFEST,
    ArtifactError,
    check_file_name,
    conversion_config,
    model_class,
    read_manifest,
    write_manifest,
)
from .surgery import ConversionError

__all__ = ["CALIBRATION", "MANIFEST", "ArtifactError", "attach", "load", "read_manifest", "save", "verify_files"]

# from_pretrained options that lasnn.load always uses: safetensors only, no code from the folder, no download
SAFE_LOADING = {"use_safetensors": True, "trust_remote_code": False, "local_files_only": True}


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


def _checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file in ``folder``, each of a kind lasnn.load accepts."""
    entries = sorted(folder.iterdir())
    for entry in entries:
        if not entry.is_file() or entry.is_symlink():
            raise ArtifactError(f"saving wrote {entry.name}, which is not a plain file; lasnn cannot checksum it")
        check_file_name(entry.name, "the saved folder")
    return {entry.name: _sha256(entry) for entry in entries}


SIZE_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
              "TIB": 2**40}


def shard_size(value: int | str) -> int:
    """``max_shard_size`` in bytes: a positive int, or a size such as "500MB" / "2GB" / "1GiB" (what transformers'
    ``save_pretrained`` accepts); ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        text = value.strip().upper().replace(" ", "")
        unit = next((unit for unit in sorted(SIZE_UNITS, key=len, reverse=True) if text.endswith(unit)), None)
        try:
            size = int(float(text[: -len(unit)]) * SIZE_UNITS[unit]) if unit else int(text)
        except ValueError:
            size = 0
    else:
        size = 0
    if size <= 0:
        raise ValueError(f"max_shard_size must be a positive number of bytes or a size such as '500MB', '2GB' or "
                         f"'1GiB', got {value!r}")
    return size


def _write(model: nn.Module, state: ConversionState, tokenizer: Any, folder: Path, max_shard_size: int | None) -> None:
    # transformers shards with huggingface_hub.split_torch_state_dict_into_shards: model-0000k-of-0000n.safetensors
    # and model.safetensors.index.json, each checksummed in the manifest like any other file
    with run_mode(model, Mode.ANN.value):
        model.save_pretrained(folder, **({} if max_shard_size is None else {"max_shard_size": max_shard_size}))
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    save_file(_calibration_tensors(model), str(folder / CALIBRATION))
    write_manifest(folder, {
        "format_version": FORMAT_VERSION,
        "lasnn_version": __version__,
        "code_fingerprint": code_fingerprint(),
        "model_class": type(model).__name__,
        "config": (state.config.with_allowed_names(state.allowed_ann) if state.config.has_filters
                   else state.config).to_dict(),
        "shared_inputs": state.shared_inputs,
        "allowed_ann": state.allowed_ann,
        "sha256": _checksums(folder),
    })


def save(model: nn.Module, out_dir: str | os.PathLike[str], tokenizer: Any = None, overwrite: bool = False,
         max_shard_size: int | str | None = None) -> Path:
    """Write ``model`` (weights and config as ``save_pretrained``) and its calibration to ``out_dir``.

    ``max_shard_size`` (bytes, or "500MB", "2GB", ...) splits the weights into safetensors shards of at most that
    size with an index, as ``save_pretrained`` does (a tensor larger than the limit gets a shard of its own);
    default: transformers' (50GB). :func:`load` reads a sharded folder like any other, ``device_map`` included.

    The folder is written beside its destination and renamed into place, so a failure or an interrupt leaves the
    destination as it was. ``overwrite`` replaces only a folder that an earlier :func:`save` wrote and that holds
    nothing else, never the current directory or the model's own source folder (see
    :func:`lasnn.convert.folders.check_target`).
    """
    state = get_state(model)
    state.require_frozen("saving it")
    size = None if max_shard_size is None else shard_size(max_shard_size)
    source = getattr(model, "name_or_path", None)
    target = check_target(out_dir, overwrite, source)
    with staged(target, overwrite, source) as staging:
        _write(model, state, tokenizer, staging, size)
    return target


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Every file recorded at save time is present and unchanged, and the folder holds no other file."""
    table = manifest["sha256"]
    for entry in sorted(path.iterdir()):
        if entry.name != MANIFEST and entry.name not in table and not entry.name.startswith("."):
            raise ArtifactError(f"{entry} is not in {MANIFEST} (lasnn.save did not write it); "
                                "remove it or save the model again")
    for name, expected in table.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"{file} is missing from the lasnn model folder; save the model again")
        if _sha256(file) != expected:
            raise ArtifactError(f"{file} was modified after lasnn.save (sha256 mismatch); restore it or save the model again")


def _check_state(name: str, module: Neuron, state: dict[str, torch.Tensor]) -> None:
    """Each saved tensor is floating point and has the shape of the neuron's own."""
    for field, value in state.items():
        own = getattr(module, field, None)
        if not value.is_floating_point() or (isinstance(own, torch.Tensor) and value.shape != own.shape):
            expected = f"shape {tuple(own.shape)}" if isinstance(own, torch.Tensor) else "floating point"
            raise ArtifactError(f"the saved calibration of {name} has {field} of shape {tuple(value.shape)} and dtype "
                                f"{value.dtype}, not {expected}: the file is corrupted; save the model again")


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
        _check_state(name, module, by_module[name])
        try:
            module.load_calibration_state(by_module[name])
        except ValueError as error:
            raise ArtifactError(f"the saved calibration of {name} is invalid ({error}); save the model again") from None


@contextmanager
def _quiet_load() -> Iterator[None]:
    """transformers' load report and its "Loading weights" bar kept off stderr: lasnn.load speaks through its errors."""
    import transformers

    shown = transformers.logging.is_progress_bar_enabled()
    transformers.logging.disable_progress_bar()
    try:
        with _quiet(transformers):
            yield
    finally:
        if shown:
            transformers.logging.enable_progress_bar()


def _from_pretrained(cls: type, folder: Path, kwargs: dict[str, Any]) -> nn.Module:
    conflicts = sorted(key for key, value in SAFE_LOADING.items() if kwargs.get(key, value) != value)
    if conflicts:
        raise ValueError(f"lasnn.load always loads with {SAFE_LOADING}; drop {conflicts}")
    try:
        refuse_remote_code(folder)
    except ValueError as error:
        raise ArtifactError(str(error)) from None
    try:
        with _quiet_load():
            return cls.from_pretrained(folder, **{**kwargs, **SAFE_LOADING}).eval()
    except (OSError, ValueError, SafetensorError) as error:
        raise ArtifactError(f"transformers could not load {folder} ({error}); save the model again") from None


def _calibration_file(folder: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(folder / CALIBRATION))
    except (OSError, SafetensorError) as error:
        raise ArtifactError(f"{folder / CALIBRATION} is unreadable ({error}); save the model again") from None


def load(path: str | os.PathLike[str], **from_pretrained_kwargs: Any) -> nn.Module:
    """Load a model written by :func:`save`, converted and calibrated exactly as it was (in "equivalent" mode).

    Everything is verified first (the manifest's checksum and schema, every file's sha256, no unlisted file); weights
    load from safetensors only and no code from the folder runs. Any defect is an :class:`ArtifactError`.
    """
    folder = Path(path).expanduser()
    manifest = read_manifest(folder)
    where = folder / MANIFEST
    verify_files(folder, manifest)
    config = conversion_config(where, manifest["config"])
    model = _from_pretrained(model_class(where, manifest["model_class"]), folder, from_pretrained_kwargs)
    tensors = _calibration_file(folder)
    try:
        attach(model, config, manifest["shared_inputs"], tensors)
    except ConversionError as error:
        raise ArtifactError(f"{where}: its config does not convert this model ({error}); save the model again") from None
    except ArtifactError as error:
        raise ArtifactError(f"{folder}: {error}") from None
    if get_state(model).allowed_ann != manifest["allowed_ann"]:
        raise ArtifactError(f"{where} lists allowed_ann {manifest['allowed_ann']}, but its config leaves "
                            f"{get_state(model).allowed_ann} as ANN; save the model again")
    return model


def attach(model: nn.Module, config: LASConfig, shared_inputs: list[list[str]], tensors: dict[str, Any]) -> nn.Module:
    """Convert ``model`` with a known calibration instead of calibration data (restored on any error)."""
    if is_converted(model):
        raise ValueError("this model is already converted")
    state, _ = build_spiking(model, config)
    try:
        modules = dict(model.named_modules())
        unknown = [name for group in shared_inputs for name in group
                   if not hasattr(modules.get(name), "lasnn_input")]
        if unknown:
            raise ArtifactError(f"the saved site groups (shared_inputs in {MANIFEST}) name modules this model does not "
                                f"have as synapses: {unknown[:3]}; save the model again")
        state.shared_inputs = share_sites([[(name, modules[name]) for name in group] for group in shared_inputs])
        _restore_calibration(model, tensors)
        state.mode = Mode.EQUIVALENT
    except BaseException:
        state.rollback()
        raise
    return model
