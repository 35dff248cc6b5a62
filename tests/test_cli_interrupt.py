"""Ctrl-C at any moment of a ``lasnn`` run is one line and exit status 130, also while lasnn is still importing."""

import signal
import subprocess
import sys
import time
from pathlib import Path

ENTRY = Path(__file__).parents[1] / "src" / "_lasnn_cli.py"


def test_ctrl_c_during_the_first_second_is_one_line():
    process = subprocess.Popen([sys.executable, str(ENTRY), "eval", "no-such-model", "perplexity"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # python is up, `import lasnn` (torch, transformers) takes seconds
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err == "lasnn: interrupted\n"


def test_the_entry_runs_the_command_line():
    result = subprocess.run([sys.executable, str(ENTRY), "fetch", "nope"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "invalid choice: 'nope'" in result.stderr and "Traceback" not in result.stderr
