"""The ``lasnn`` console script: Ctrl-C is a one-line exit from the start, also while lasnn imports torch.

``import lasnn`` takes seconds (torch, transformers); an interrupt during that import has nothing to clean up, so it
exits at once with status 130. Once imported, the default handler is back and ``lasnn.cli.main`` turns an
interrupt into one line after the command's own cleanup has run.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _interrupted(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("lasnn: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


def main() -> int:
    """Run the ``lasnn`` command line."""
    signal.signal(signal.SIGINT, _interrupted)
    from lasnn.cli import main as run

    signal.signal(signal.SIGINT, signal.default_int_handler)
    return run()


if __name__ == "__main__":
    sys.exit(main())
