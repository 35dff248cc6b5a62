"""Fuzz the command line: random argument lists drawn from the real subcommands and flags, with good and bad values,
on tiny local models and files, offline. Every run exits 0, or 2 with one line on stderr; none raises."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from eval_helpers import TEXT, save_folder, tiny_lm  # noqa: E402
from lasnn.cli import build_parser, main  # noqa: E402

NUMBERS = ("0", "-3", "1", "2", "16", "abc", "1e3", "nan", "", "99999999999999999999")
WORDS = ("", "x", "shakespeare:nope", "shakespeare:", "polarity", "all", "{text}", "{latin1}")
PROGRESS = ("%|", "it/s]", "seq/s]", "batch/s]")


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    """Named paths: tiny model folders, a saved conversion, text files good and bad, a folder, a missing file."""
    root = tmp_path_factory.mktemp("fuzz")
    text = root / "text.txt"
    text.write_text(TEXT)
    (root / "latin1.txt").write_bytes("caf\xe9 ".encode("latin-1") * 50)
    (root / "empty.txt").write_text("")
    (root / "choices.jsonl").write_text(json.dumps({"context": "Now is", "choices": [" the", " a"], "label": 0}))
    (root / "bad.json").write_text("{not json")
    llama = save_folder(tiny_lm("llama"), root / "llama")
    saved = root / "saved"
    assert main(["convert", str(llama), str(saved), "--calibration", str(text), "--calibration-sequences", "1",
                 "--calibration-length", "32"]) == 0
    return {"llama": str(llama), "gpt2": str(save_folder(tiny_lm("gpt2"), root / "gpt2")), "saved": str(saved),
            "text": str(text), "latin1": str(root / "latin1.txt"), "empty": str(root / "empty.txt"),
            "choices": str(root / "choices.jsonl"), "bad_json": str(root / "bad.json"), "folder": str(root),
            "missing": str(root / "missing.txt"), "root": str(root)}


PATHS = ("{text}", "{latin1}", "{empty}", "{choices}", "{bad_json}", "{folder}", "{missing}", "")
MODELS = ("{llama}", "{gpt2}", "{saved}", "nope", "{text}", "{folder}", "")


def _commands() -> dict[str, argparse.ArgumentParser]:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


GOOD = {
    "model": ("{llama}", "{gpt2}", "{saved}"), "out": ("{new}",), "task": ("perplexity", "choice"),
    "names": ("polarity",), "prompt": ("Now is",), "data": ("{text}",), "calibration": ("{text}",),
    "time_steps": ("4",), "calibration_sequences": ("1",), "calibration_length": ("16",), "sequences": ("1",),
    "length": ("16",), "batch_size": ("2",), "limit": ("48",), "window": ("16",), "max_new_tokens": ("2",),
    "tokens": ("16",), "sentences": ("2",), "new_tokens": ("2",), "train": ("4",),
}
FAST = ("data", "calibration", "calibration_sequences", "calibration_length", "sequences", "length", "limit", "window", "max_new_tokens",
        "time_steps", "prompt")


def _bad(action: argparse.Action) -> st.SearchStrategy[str]:
    """Any value: the action's choices plus a wrong one, else numbers, words and paths."""
    if action.choices:
        return st.sampled_from([*map(str, action.choices), "bogus", ""])
    if action.dest == "model":
        return st.sampled_from(MODELS)
    if action.dest in ("out", "json", "plot", "energy"):
        return st.sampled_from(("{new}", "{new}/deeper", "{folder}", "{text}", "/nonexistent/x", ""))
    return st.sampled_from(NUMBERS + WORDS + PATHS)


def _values(action: argparse.Action, good: bool) -> st.SearchStrategy[list[str]]:
    """The argument strings of one option or positional, from its good values or from any."""
    if action.nargs == 0:
        return st.just([])
    pool = st.sampled_from(GOOD[action.dest]) if good and action.dest in GOOD else _bad(action)
    count = st.integers(1, 2) if action.nargs in ("+", "*") else st.just(1)
    return count.flatmap(lambda n: st.lists(pool, min_size=n, max_size=n))


def _mostly() -> st.SearchStrategy[bool]:
    """True three times in four."""
    return st.integers(0, 3).map(bool)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A subcommand with mostly good, small arguments (so runs get past parsing) and up to three random options."""
    commands = _commands()
    name = draw(st.sampled_from(sorted(commands)))
    actions = [a for a in commands[name]._actions if a.dest != "help"]
    argv = [name]
    for action in (a for a in actions if not a.option_strings):
        argv += draw(_values(action, good=draw(_mostly())))
    options = {a.dest: (a, draw(_mostly())) for a in actions if a.option_strings and (a.dest in FAST or a.required)}
    for action in draw(st.lists(st.sampled_from([a for a in actions if a.option_strings]), max_size=3)):
        options[action.dest] = (action, draw(st.booleans()))
    for action, good in options.values():
        argv += [action.option_strings[0], *draw(_values(action, good))]
    return argv


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_any_command_line_exits_0_or_2_with_one_line(argv, places, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(places["root"])
    monkeypatch.setenv("LASNN_CACHE", str(Path(places["root"]) / "cache"))
    monkeypatch.setenv("LASNN_OFFLINE", "1")
    argv = [a.format(**places, new=tmp_path / "new") for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not any(p in line for p in PROGRESS)]
    assert "Traceback" not in err, (argv, err)
    assert code in (0, 2), (argv, code, err)
    assert code == 0 or (len(lines) == 1 and "error" in lines[0]), (argv, err)
