"""Resolve and load models: a named pinned model (fetched on first use) or any local HF folder.

No code from a model folder ever runs: every load passes ``trust_remote_code=False``, and a folder whose configs
name custom code (``auto_map``) is refused before transformers reads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from lasnn.assets.fetching import fetch
from lasnn.assets.registry import ASSETS

TASKS: dict[str, str] = {
    "causal-lm": "AutoModelForCausalLM",
    "embedding": "AutoModel",
    "masked-lm": "AutoModelForMaskedLM",
    "sequence-classification": "AutoModelForSequenceClassification",
}
CODE_CONFIGS = ("config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json")


def model_names() -> list[str]:
    """The names of the pinned models."""
    return [name for name, spec in ASSETS.items() if spec.kind == "model"]


def resolve_model(name_or_path: str | os.PathLike[str]) -> Path:
    """The folder of a named model (fetched and cached on first use) or of a local HF model folder."""
    spec = ASSETS.get(str(name_or_path))
    if spec is not None and spec.kind == "model":
        return fetch(spec.name)
    path = Path(name_or_path).expanduser()
    if (path / "config.json").is_file():
        return path
    raise ValueError(
        f"{str(name_or_path)!r} is neither a known model ({', '.join(model_names())}) "
        "nor a local Hugging Face model folder (a directory holding config.json)"
    )


def load_model(
    name_or_path: str | os.PathLike[str],
    task: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Any, Any]:
    """Load (model, tokenizer) in eval mode, from local files only.

    ``task`` is one of :data:`TASKS`; by default a named model's own task
    (``smollm2-135m``: causal-lm, ``minilm-l6``: embedding), else causal-lm.
    """
    import transformers

    task = task or _default_task(name_or_path)
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    folder = resolve_model(name_or_path)
    refuse_remote_code(folder)
    auto = getattr(transformers, TASKS[task])
    with _quiet(transformers):  # lasnn reports what matters (missing weights) in one line of its own
        model, loading = auto.from_pretrained(folder, dtype=dtype, local_files_only=True, trust_remote_code=False,
                                              output_loading_info=True)
    if loading["missing_keys"]:
        missing = sorted(loading["missing_keys"])
        raise ValueError(
            f"{folder} holds no weights for {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} of "
            f"{type(model).__name__}: it has no trained {task} head (its architectures: "
            f"{', '.join(getattr(model.config, 'architectures', None) or ['unknown'])}); use a checkpoint with that "
            "head (lasnn convert --task picks the head), rather than a randomly initialised one"
        )
    return model.eval(), load_tokenizer(folder)


@contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """transformers' warnings (load reports, tied-weight notes) silenced for the duration."""
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)


def load_tokenizer(folder: str | os.PathLike[str]) -> Any:
    """The tokenizer saved in ``folder``, from local files only, never running code from the folder."""
    import transformers

    refuse_remote_code(Path(folder))
    return transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)


def refuse_remote_code(folder: Path) -> None:
    """ValueError if a config of ``folder`` names custom code (``auto_map``), which lasnn never runs."""
    for name in CODE_CONFIGS:
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not valid UTF-8 JSON ({error}); restore the model folder") from None
        if isinstance(data, dict) and data.get("auto_map"):
            raise ValueError(
                f"{path} names custom code (auto_map: {', '.join(sorted(map(str, data['auto_map'])))}); lasnn never "
                "runs code from a model folder (trust_remote_code=False): use a model whose architecture transformers "
                "ships, or remove auto_map if the architecture is a built-in one"
            )


def _default_task(name_or_path: str | os.PathLike[str]) -> str:
    """A named model's task, causal-lm for anything else."""
    spec = ASSETS.get(str(name_or_path))
    return spec.task if spec is not None and spec.task else "causal-lm"
