"""The ``lasnn`` command line on tiny local models: every subcommand, its JSON, and one-line errors."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_helpers import TEXT  # noqa: E402
from lasnn.cli import build_parser, main  # noqa: E402

COMMANDS = ("demo", "convert", "eval", "generate", "fetch")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from eval_helpers import save_folder, tiny_lm

    return save_folder(tiny_lm("llama"), tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "calibration.txt"
    path.write_text(TEXT)
    return path


def _calibration(text):
    return ["--calibration", str(text), "--calibration-sequences", "2", "--calibration-length", "64"]


@pytest.mark.parametrize("command", (None, *COMMANDS))
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"] if command else ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: lasnn" in out and ("--json" in out or command is None)


def test_every_command_is_registered():
    choices = build_parser()._subparsers._group_actions[0].choices
    assert set(COMMANDS) | {"report", "sweep", "ablation"} == set(choices)


@pytest.mark.parametrize("argv, fragment", [
    (["eval", "no-such-model", "perplexity"], "neither a known model"),
    (["eval", "{folder}", "bogus"], "invalid choice: 'bogus'"),
    (["eval", "{folder}", "choice", "--data", "{tmp}/missing.jsonl"], "does not exist"),
    (["eval", "{folder}", "choice"], "needs --data"),
    (["eval", "{folder}", "perplexity", "--data", "{tmp}/missing.txt"], "neither shakespeare:WORK"),
    (["eval", "{folder}", "perplexity", "--time-steps", "0"], "must be >= 1"),
    (["eval", "{folder}", "perplexity", "--calibration", "nowhere:x"], "unknown calibration source"),
    (["generate", "{folder}"], "--prompt"),
    (["convert", "{folder}", "{folder}"], "already exists"),
    (["fetch", "no-such-asset"], "invalid choice: 'no-such-asset'"),
    (["nope"], "invalid choice"),
])
def test_bad_input_is_one_line_and_nonzero(argv, fragment, folder, tmp_path, capsys):
    argv = [a.format(folder=folder, tmp=tmp_path) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1, err
    assert fragment in lines[0] and "Traceback" not in err


def test_convert_then_eval_and_generate(folder, text, tmp_path, capsys):
    out = tmp_path / "spiking"
    assert main(["convert", str(folder), str(out), *_calibration(text), "--json", str(tmp_path / "c.json")]) == 0
    converted = json.loads((tmp_path / "c.json").read_text())
    assert converted["source"] == "converted" and converted["parity"]["top1_agreement"] >= 0.9
    assert (out / "lasnn.json").is_file()

    assert main(["eval", str(out), "perplexity", "--data", str(text), "--limit", "200", "--window", "64",
                 "--json", str(tmp_path / "p.json")]) == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "p.json").read_text())
    assert result["model"]["source"] == "saved conversion"
    assert result["result"]["examples"] == 196 and abs(result["result"]["relative_difference"]) < 1e-3
    assert "perplexity" in printed and f"{result['result']['ann']:.6g}" in printed

    records = [{"context": "Now is the winter of our", "choices": [" discontent", " summer"], "label": 0}] * 2
    (tmp_path / "mc.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    assert main(["eval", str(out), "choice", "--data", str(tmp_path / "mc.jsonl"), "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["result"]["examples"] == 2

    assert main(["generate", str(folder), *_calibration(text), "--prompt", "Now is", "--prompt", "the winter",
                 "--max-new-tokens", "4", "--json", str(tmp_path / "g.json")]) == 0
    generated = json.loads((tmp_path / "g.json").read_text())
    assert len(generated["continuations"]) == 2 and generated["comparison"]["new_tokens"] == 4
    assert "greedy continuations" in capsys.readouterr().out


def test_fetch_delegates_to_the_asset_cache(tmp_path, monkeypatch):
    import lasnn.assets

    calls = []
    monkeypatch.setattr(lasnn.assets, "fetch", lambda name: calls.append(name) or tmp_path / name)
    assert main(["fetch", "polarity", "polarity", "--json", str(tmp_path / "f.json")]) == 0
    assert calls == ["polarity"]
    assert json.loads((tmp_path / "f.json").read_text()) == {"polarity": str(tmp_path / "polarity")}
