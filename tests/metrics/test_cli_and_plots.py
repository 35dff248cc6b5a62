"""lasnn report / sweep argument handling and the PNG plots."""

import argparse

import pytest

from lasnn import cli_report
from lasnn.cli import main
from lasnn.metrics.plots import write_plots
from lasnn.metrics.report import report


def _parse(argv):
    parser = argparse.ArgumentParser(prog="lasnn")
    cli_report.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.mark.parametrize("command", ["report", "sweep", "ablation"])
def test_bad_model_exits_nonzero_with_one_line(command, capsys, tmp_path):
    assert main([command, str(tmp_path / "missing"), "--time-steps", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"lasnn {command}: error:") and "\n" not in err


def test_bad_time_steps_and_data(capsys, tmp_path):
    assert main(["report", str(tmp_path), "--data", str(tmp_path / "none.txt")]) == 2
    assert "lasnn report: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        _parse(["sweep", str(tmp_path), "--time-steps", "0"])
    assert exit_info.value.code == 2 and "must be >= 1, got 0" in capsys.readouterr().err


def test_plots_are_written(tiny_llama, eval_batch, tmp_path):
    paths = write_plots(report(tiny_llama, eval_batch), tmp_path)
    assert [p.name for p in paths] == ["spikes_per_layer.png", "energy_per_layer.png", "firing_rate.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
