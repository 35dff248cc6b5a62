"""The pinned datasets: Pang & Lee sentence polarity and Shakespeare's works."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from pathlib import Path

from lasnn.assets.fetching import fetch

POLARITY_FILE = "polarity-en-pang&lee2.csv"
POLARITY_SEED = 0
_LABELS = {"1": 1, "-1": 0}
_GUTENBERG_SUFFIX = "_gut.txt"


def read_utf8(path: str | Path) -> str:
    """The text of a UTF-8 file; ValueError naming the file and the first bad byte if it is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start}); "
                         "save it as UTF-8") from None


def read_polarity(path: Path) -> list[tuple[str, int]]:
    """The rows of a Pang & Lee ``label,text`` CSV as (text, label): label 1 -> 1 (positive), -1 -> 0."""
    rows = list(csv.reader(io.StringIO(read_utf8(path).removeprefix("\ufeff"))))
    try:
        return [(text.strip(), _LABELS[label]) for label, text in rows]
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path.name}: expected rows `label,text` with label 1 or -1 ({error})") from None


def split_polarity(rows: Sequence[tuple[str, int]], split: str, seed: int = POLARITY_SEED) -> list[tuple[str, int]]:
    """The fixed, class-balanced train or test half of ``rows``.

    Rule: with ``random.Random(seed)``, shuffle the negatives, then the positives (each in file
    order before shuffling); the first ``n // 2`` of each class are train, the rest are test;
    then the chosen half is shuffled with the same generator so the classes interleave.
    Train and test are disjoint and together hold every row.
    """
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    rng = random.Random(seed)
    chosen: list[tuple[str, int]] = []
    for label in (0, 1):
        members = [row for row in rows if row[1] == label]
        rng.shuffle(members)
        half = len(members) // 2
        chosen += members[:half] if split == "train" else members[half:]
    rng.shuffle(chosen)
    return chosen


def load_polarity(split: str = "train") -> list[tuple[str, int]]:
    """Pang & Lee sentence polarity (4000 sentences) as (text, label), label 1 positive / 0 negative.

    The split is fixed by :func:`split_polarity` with seed 0: 2000 train and 2000 test
    sentences, 1000 per class in each, disjoint, the same on every machine.
    """
    return split_polarity(read_polarity(fetch("polarity") / POLARITY_FILE), split)


def shakespeare_works() -> list[str]:
    """The names of the available works (``hamlet``, ``macbeth``, ``sonnets``, ...), sorted."""
    folder = fetch("shakespeare")
    return sorted(path.name.removesuffix(_GUTENBERG_SUFFIX) for path in folder.glob(f"*{_GUTENBERG_SUFFIX}"))


def load_shakespeare(work: str = "hamlet") -> str:
    """The full text of one work.

    The pinned files start at the title and end with the last line of the work:
    they carry no Project Gutenberg header or footer, so nothing is stripped.
    """
    path = fetch("shakespeare") / f"{work}{_GUTENBERG_SUFFIX}"
    if not path.is_file():
        raise ValueError(f"unknown work {work!r}; available works: {', '.join(shakespeare_works())}")
    return read_utf8(path)
