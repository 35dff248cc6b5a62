"""Malformed lasnn.json manifests: every one is a clear lasnn.ArtifactError (one line and exit 2 on the command
line), never another exception (issue 13, item 9), also under random mutation (hypothesis)."""

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lasnn
from lasnn.cli import main
from lasnn.convert import persist
from tiny_models import tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=4)


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    from eval_helpers import byte_tokenizer

    model = lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(1))
    return lasnn.save(model, tmp_path_factory.mktemp("saved") / "snn", tokenizer=byte_tokenizer())


@pytest.fixture(scope="module")
def manifest(original):
    return json.loads((original / "lasnn.json").read_text())


@pytest.fixture
def folder(original, tmp_path):
    return Path(shutil.copytree(original, tmp_path / "snn"))


def _write(folder, manifest):
    """Write ``manifest`` checksummed like lasnn.save (so the schema checks, not the checksum, must catch it)."""
    if isinstance(manifest, dict):
        persist.write_manifest(folder, {k: v for k, v in manifest.items() if k != "manifest_sha256"})
    else:
        (folder / "lasnn.json").write_text(json.dumps(manifest))


def _without(key):
    return lambda m: {k: v for k, v in m.items() if k != key}


def _with(key, value):
    return lambda m: {**m, key: value}


def _config_with(key, value):
    return lambda m: {**m, "config": {**m["config"], key: value}}


VARIANTS = {
    "a list instead of an object": lambda m: [m],
    "a number": lambda m: 42,
    "no model_class": _without("model_class"),
    "no config": _without("config"),
    "no shared_inputs": _without("shared_inputs"),
    "no allowed_ann": _without("allowed_ann"),
    "no sha256": _without("sha256"),
    "no format_version": _without("format_version"),
    "format_version as text": _with("format_version", "2"),
    "an unknown key": _with("surprise", 1),
    "an unknown model_class": _with("model_class", "NoSuchModelForCausalLM"),
    "a model_class that is a module": _with("model_class", "logging"),
    "a model_class that is no model": _with("model_class", "AutoTokenizer"),
    "a model_class that is a number": _with("model_class", 5),
    "a model_class that is a path": _with("model_class", "os.path"),
    "config as a list": _with("config", [16]),
    "config with an unknown field": _config_with("surprise", 1),
    "config without time_steps": lambda m: {**m, "config": {k: v for k, v in m["config"].items() if k != "time_steps"}},
    "time_steps as text": _config_with("time_steps", "16"),
    "allow_ann as a number": _config_with("allow_ann", 5),
    "allow_ann of numbers": _config_with("allow_ann", [1, 2]),
    "fixed_thresholds of one": _config_with("fixed_thresholds", [1.0]),
    "shared_inputs as text": _with("shared_inputs", "model.layers.0"),
    "shared_inputs of numbers": _with("shared_inputs", [[1, 2]]),
    "shared_inputs naming no module": _with("shared_inputs", [["model.nope", "model.nope2"]]),
    "shared_inputs naming no synapse": _with("shared_inputs", [["model.norm", "model.embed_tokens"]]),
    "shared_inputs naming a module twice": lambda m: {**m, "shared_inputs": m["shared_inputs"] + m["shared_inputs"][:1]},
    "allowed_ann as an object": _with("allowed_ann", {"a": 1}),
    "allowed_ann that config does not allow": _with("allowed_ann", ["model.layers.0.mlp"]),
    "sha256 as a list": _with("sha256", ["config.json"]),
    "sha256 naming a path outside": lambda m: {**m, "sha256": {**m["sha256"], "../config.json": "0" * 64}},
    "sha256 with a short digest": lambda m: {**m, "sha256": {**m["sha256"], "config.json": "abc"}},
    "code_fingerprint as a number": _with("code_fingerprint", 5),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_malformed_manifest_is_a_clear_error(folder, manifest, variant):
    _write(folder, VARIANTS[variant](json.loads(json.dumps(manifest))))
    with pytest.raises(lasnn.ArtifactError, match="lasnn.json|save"):
        lasnn.load(folder)


@pytest.mark.parametrize("variant", ["a list instead of an object", "no model_class", "an unknown model_class",
                                     "shared_inputs naming no synapse", "allow_ann of numbers"])
def test_the_cli_answers_a_malformed_manifest_in_one_line(folder, manifest, variant, capsys):
    _write(folder, VARIANTS[variant](json.loads(json.dumps(manifest))))
    assert main(["generate", str(folder), "--prompt", "Now is", "--max-new-tokens", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "lasnn.json" in err


def test_deeply_nested_or_undecodable_json(folder):
    for text in ("[" * 100_000 + "]" * 100_000, b"\xff\xfe{".decode("latin-1"), "", "null"):
        (folder / "lasnn.json").write_text(text, encoding="latin-1")
        with pytest.raises(lasnn.ArtifactError, match="lasnn.json"):
            lasnn.load(folder)


# -- fuzz: random mutations of a valid manifest ----------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=6)


def _paths(value, prefix=()):
    yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _mutate(manifest, path, operation, value, key):
    """``manifest`` with the node at ``path`` deleted, replaced by ``value``, or given an extra entry ``key``."""
    copy = json.loads(json.dumps(manifest))
    if not path:
        return value if operation == "replace" else {**copy, key: value}
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if operation == "delete":
        del parent[path[-1]]
    elif operation == "replace":
        parent[path[-1]] = value
    elif isinstance(parent[path[-1]], dict):
        parent[path[-1]].setdefault(key, value)
    return copy


@st.composite
def mutations(draw, manifest):
    paths = [path for path in _paths(manifest) if path[:1] != ("manifest_sha256",)]
    path = draw(st.sampled_from(paths))
    operation = draw(st.sampled_from(["delete", "replace", "extra"] if path else ["replace", "extra"]))
    key = draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in manifest))
    return path, operation, draw(JSON), key


def test_random_mutations_raise_only_artifact_errors(original, manifest, tmp_path_factory):
    folder = Path(shutil.copytree(original, tmp_path_factory.mktemp("fuzz") / "snn"))

    @settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
    @given(mutations(manifest))
    def check(mutation):
        path, operation, value, key = mutation
        mutated = _mutate(manifest, path, operation, value, key)
        if mutated == manifest:
            return
        _write(folder, mutated)
        try:
            lasnn.load(folder)
        except lasnn.ArtifactError as error:
            assert str(error).strip()
        else:
            assert operation == "replace", f"{operation} at {path} was accepted"

    check()
