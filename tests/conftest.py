import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("lasnn", derandomize=True, deadline=None, max_examples=40)
settings.load_profile("lasnn")

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device"))]
