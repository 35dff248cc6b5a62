"""The demo pipeline: SmolLM2-135M converted with calibration, then ANN beside SNN on what a user checks first."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import LASConfig
from ..convert.api import convert, set_code
from ..metrics.generation import compare_greedy
from ..metrics.report import report
from ..modules.state import get_state
from ..neurons.codes import CODES
from .classification import sentiment
from .loading import text_batches
from .perplexity import perplexity

DEMO_MODEL = "smollm2-135m"
DEMO_PROMPT = "To be, or not to be, that is the question:"


@dataclass(frozen=True)
class DemoSizes:
    """How much work the demo does: the smallest sizes that still show each comparison (>= 200 held-out sentences)."""

    calibration_sequences: int = 8   # Macbeth, issue 3's rule: theta_nor = q99.9 |x|, theta_out = 1.25 max
    calibration_length: int = 256
    perplexity_tokens: int = 512      # Hamlet excerpt, 256-token windows
    window: int = 256
    sentences: int = 200              # held-out polarity test sentences
    new_tokens: int = 16
    time_steps: int = 16
    batch_size: int = 25
    accounting_tokens: int = 256      # Hamlet tokens counted by lasnn.report (spikes, operations, energy)


class Timer:
    """Wall-clock seconds per named step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)


def account_codes(model: Any, batches: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Spikes per neuron and energy (ANN and SNN pJ per preset) of ``model`` on ``batches`` under each spike code
    (``lasnn.set_code``: the outputs are the same, the trains differ); the model's own code is restored after."""
    own = get_state(model).config.code
    counted = {}
    try:
        for code in CODES:
            set_code(model, code)
            rep = report(model, batches, per_step=False)
            counted[code] = {"spikes_per_neuron": rep.spikes_per_neuron,
                             "energy": {row.preset.name: {"ann_pj": row.ann_pj, "snn_pj": row.snn_pj}
                                        for row in rep.energy}}
    finally:
        set_code(model, own)
    return counted


def demo_config(sizes: DemoSizes) -> LASConfig:
    return LASConfig(time_steps=sizes.time_steps, calibration_sequences=sizes.calibration_sequences)


def convert_for_demo(model: Any, tokenizer: Any, macbeth: str, sizes: DemoSizes = DemoSizes()) -> Any:
    """Convert ``model`` in place, calibrated on the first ``sizes.calibration_sequences`` Macbeth sequences."""
    calibration = text_batches(tokenizer, macbeth, sizes.calibration_sequences, sizes.calibration_length)
    return convert(model, demo_config(sizes), calibration_data=calibration)


def stale_reason(folder: Path) -> str | None:
    """Why the cached conversion in ``folder`` cannot be reused (absent, unreadable, or made by other lasnn code),
    or None if it can: a conversion is reused only when lasnn's code fingerprint matches the current code."""
    from ..convert.persist import ArtifactError, read_manifest
    from ..fingerprint import code_fingerprint
    from .loading import is_saved_conversion

    if not is_saved_conversion(folder):
        return "there is none"
    try:
        made_by = read_manifest(folder).get("code_fingerprint")
    except ArtifactError as error:
        return f"the cached one was unusable: {error}"
    if made_by != code_fingerprint():
        return f"the cached one was made by other lasnn code ({made_by or 'no fingerprint'} != {code_fingerprint()})"
    return None


def demo_model(sizes: DemoSizes = DemoSizes(), recalibrate: bool = False,
               timer: Timer | None = None) -> tuple[Any, Any, str]:
    """(model, tokenizer, origin) of the converted demo model: the cached conversion (a ``lasnn.save`` folder in the
    asset cache, keyed by K and the calibration size, reused only if made by this exact lasnn code), or converted now
    and cached."""

    from ..assets import cache_dir, load_model, load_shakespeare
    from ..assets.models import load_tokenizer
    from ..convert.persist import ArtifactError, load, save

    timer = timer or Timer()
    cached = cache_dir() / "conversions" / (f"{DEMO_MODEL}-K{sizes.time_steps}-macbeth-"
                                            f"{sizes.calibration_sequences}x{sizes.calibration_length}")
    stale = "--recalibrate" if recalibrate else stale_reason(cached)
    if stale is None:
        try:
            with timer("load"):
                model = load(cached)
                tokenizer = load_tokenizer(cached)
            return model, tokenizer, f"loaded the cached conversion {cached} (--recalibrate converts again)"
        except ArtifactError as error:
            stale = f"the cached one was unusable: {error}"
    with timer("load"):
        model, tokenizer = load_model(DEMO_MODEL)
    with timer("convert"):
        convert_for_demo(model, tokenizer, load_shakespeare("macbeth"), sizes)
    with timer("cache"):
        save(model, cached, tokenizer=tokenizer, overwrite=True)
    return model, tokenizer, f"converted now ({stale}) and cached in {cached}"


def run_demo(model: Any, tokenizer: Any, hamlet: str, polarity_test: list[tuple[str, int]],
             sizes: DemoSizes = DemoSizes(), prompt: str = DEMO_PROMPT, timer: Timer | None = None) -> dict[str, Any]:
    """Compare the converted ``model`` with its ANN; returns the JSON-ready numbers."""
    timer = timer or Timer()
    with timer("perplexity"):
        ppl = perplexity(model, tokenizer, hamlet, window=sizes.window, batch_size=2, max_tokens=sizes.perplexity_tokens,
                         task="hamlet perplexity")
    with timer("sentiment"):
        senti = sentiment(model, tokenizer, polarity_test[: sizes.sentences], batch_size=sizes.batch_size)
    with timer("generation"):
        prompt_ids = dict(tokenizer(prompt, return_tensors="pt"))
        greedy = compare_greedy(model, [prompt_ids], new_tokens=sizes.new_tokens)
    result: dict[str, Any] = {
        "model": DEMO_MODEL,
        "config": demo_config(sizes).to_dict(),
        "calibration": f"{sizes.calibration_sequences} x {sizes.calibration_length} tokens of Macbeth",
        "perplexity": ppl.to_dict(),
        "sentiment": senti.to_dict(),
        "generation": {"prompt": prompt, "ann": tokenizer.decode(greedy.ann_tokens[0]),
                       "snn": tokenizer.decode(greedy.snn_tokens[0]), **greedy.to_dict()},
    }
    with timer("accounting"):
        ids = tokenizer(hamlet, add_special_tokens=False, return_tensors="pt")["input_ids"][0][: sizes.accounting_tokens]
        batch = [{"input_ids": ids[None], "attention_mask": torch.ones_like(ids)[None]}]
        result["accounting"] = {"tokens": int(ids.numel()), "codes": account_codes(model, batch)}
    result["seconds"] = dict(timer.seconds)
    return result
