"""Entry point of ``python -m lasnn.assets``."""

import sys

from lasnn.assets.cli import main

sys.exit(main())
