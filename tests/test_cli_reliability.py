"""Hostile and careless command lines: every bad input is one line on stderr, exit status 2, no traceback."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_helpers import TEXT, save_folder, tiny_encoder, tiny_lm  # noqa: E402
from lasnn.cli import main  # noqa: E402


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """(exit status, the one stderr line); fails on a traceback or a multi-line error."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line and "it/s]" not in line]
    assert "Traceback" not in err, err
    assert code == 0 or len(lines) == 1, err
    return code, lines[0] if lines else ""


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "calibration.txt"
    path.write_text(TEXT)
    return path


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    return save_folder(tiny_lm("llama"), tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    return save_folder(tiny_lm("gpt2"), tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def calibration(text):
    return ["--calibration", str(text), "--calibration-sequences", "2", "--calibration-length", "64"]


def test_a_config_naming_custom_code_is_refused_without_a_prompt(llama, tmp_path, calibration, capsys, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("prompted"))
    for name in ("config.json", "tokenizer_config.json"):
        folder = tmp_path / name
        save_folder(tiny_lm("llama"), folder)
        data = json.loads((folder / name).read_text())
        (folder / name).write_text(json.dumps({**data, "auto_map": {"AutoModelForCausalLM": "evil.Model"}}))
        code, line = run(["eval", folder, "perplexity", "--data", calibration[1], *calibration], capsys)
        assert code == 2 and f"{name} names custom code" in line and "trust_remote_code=False" in line


def test_a_missing_head_is_refused_instead_of_scored_at_random(tmp_path, text, calibration, capsys):
    encoder = save_folder(tiny_encoder(), tmp_path / "bert")
    code, line = run(["eval", encoder, "perplexity", "--data", text, *calibration], capsys)
    assert code == 2 and "holds no weights for cls.predictions" in line and "--task" in line


@pytest.fixture(scope="module")
def embedding_conversion(llama, calibration, tmp_path_factory):
    out = tmp_path_factory.mktemp("embedding") / "snn"
    assert main(["convert", str(llama), str(out), "--task", "embedding", *calibration]) == 0
    return out


@pytest.mark.parametrize("argv", [
    ["generate", "{model}", "--prompt", "Now is"],
    ["eval", "{model}", "perplexity", "--data", "{text}"],
    ["eval", "{model}", "sentiment"],
])
def test_lm_commands_refuse_an_embedding_conversion(argv, embedding_conversion, text, capsys):
    code, line = run([a.format(model=embedding_conversion, text=text) for a in argv], capsys)
    assert code == 2 and "no language-model head" in line and "--task causal-lm" in line


def test_an_empty_prompt_is_refused(llama, calibration, capsys):
    code, line = run(["generate", llama, "--prompt", "", *calibration], capsys)
    assert code == 2 and "--prompt" in line and "empty" in line


@pytest.mark.parametrize("argv, fragment", [
    (["generate", "{model}", "--prompt", "x" * 250, "--max-new-tokens", "8"], "258 tokens"),
    (["eval", "{model}", "perplexity", "--data", "{text}", "--window", "300"], "300 tokens"),
])
def test_gpt2_beyond_its_position_table(argv, fragment, gpt2, text, calibration, capsys):
    code, line = run([a.format(model=gpt2, text=text) for a in argv] + calibration, capsys)
    assert code == 2 and fragment in line and "256 positions (config.n_positions)" in line


def test_gpt2_calibration_beyond_its_position_table(gpt2, text, tmp_path, capsys):
    code, line = run(["convert", gpt2, tmp_path / "out", "--calibration", text, "--calibration-length", "300"], capsys)
    assert code == 2 and "300 tokens" in line and "256 positions" in line


@pytest.mark.parametrize("flag", ["--data", "--calibration"])
def test_empty_paths_are_refused_not_defaulted(flag, llama, capsys):
    code, line = run(["eval", llama, "perplexity", flag, ""], capsys)
    assert code == 2 and flag in line and "empty" in line


@pytest.mark.parametrize("flag", ["--data", "--calibration"])
def test_a_file_that_is_not_utf8_is_named(flag, llama, text, tmp_path, calibration, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(TEXT.encode() + "caf\xe9".encode("latin-1"))
    argv = ["eval", llama, "perplexity", *calibration, "--data", text]
    argv[argv.index(flag) + 1] = bad
    code, line = run(argv, capsys)
    assert code == 2 and f"{bad} is not UTF-8 text (byte 0xe9" in line


def test_gpt2_choice_beyond_its_position_table(gpt2, tmp_path, calibration, capsys):
    records = tmp_path / "mc.jsonl"
    records.write_text(json.dumps({"context": "x" * 300, "choices": [" a", " b"], "label": 0}))
    code, line = run(["eval", gpt2, "choice", "--data", records, *calibration], capsys)
    assert code == 2 and "the longest context + choice has 302 tokens" in line
