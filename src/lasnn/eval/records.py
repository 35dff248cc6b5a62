"""Labelled text tables for :func:`lasnn.eval.classify`: CSV / TSV / JSONL / JSON files or a ``datasets`` folder.

A table has one or two text columns and a label column: a label id, a label name (matched to the model's
``config.label2id``, exactly or else ignoring case) or, for a regression head, a real score. Without explicit column
names the GLUE ones are tried: the pairs (sentence1, sentence2), (question1, question2), (premise, hypothesis),
(question, sentence), then a single sentence or text; the label column is label, else score.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..assets.datasets import read_utf8

TEXT_COLUMNS = (("sentence1", "sentence2"), ("question1", "question2"), ("premise", "hypothesis"),
                ("question", "sentence"), ("sentence",), ("text",))
LABEL_COLUMNS = ("label", "score")
SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")


@dataclass(frozen=True)
class ClassifyExample:
    """One input of :func:`lasnn.eval.classify`: a text or text pair, its label id (or real score, regression),
    and optionally the name of the split it belongs to (scored on its own too, e.g. MNLI matched / mismatched)."""

    text: str
    text_pair: str | None = None
    label: int | float = 0
    split: str | None = None


@dataclass(frozen=True)
class Columns:
    """Which columns of a table hold the text(s), the label and (optionally) the split."""

    text: tuple[str, ...]
    label: str
    split: str | None = None


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``.csv`` / ``.tsv`` (header row), ``.jsonl`` (an object a line) or ``.json`` (a list of objects)
    file, or of a ``datasets`` ``save_to_disk`` folder of one split, as dicts; ValueError if none or unreadable."""
    path = Path(path).expanduser()
    if path.is_dir():
        records = _datasets_folder(path)
    elif not path.is_file():
        raise ValueError(f"data file {path} does not exist; pass a {', '.join(SUFFIXES)} file or a datasets "
                         "save_to_disk folder")
    elif path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path.name}: unknown table format {path.suffix or '(no suffix)'!r}; use "
                         f"{', '.join(SUFFIXES)} or a datasets save_to_disk folder")
    else:
        records = _file_records(path)
    if not records:
        raise ValueError(f"{path} holds no examples (empty); give a table with a header / keys and at least one row")
    bad = next((i for i, record in enumerate(records) if not isinstance(record, dict)), None)
    if bad is not None:
        raise ValueError(f"{path.name} record {bad}: expected an object of column values, got "
                         f"{type(records[bad]).__name__}")
    return records


def read_json_values(path: Path) -> Any:
    """The values of a ``.jsonl`` file (a list, one per non-blank line) or the value of a JSON file (an empty file:
    an empty list); ValueError naming the file on a syntax error."""
    text = read_utf8(path).removeprefix("\ufeff")
    try:
        if path.suffix.lower() == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text) if text.strip() else []
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error.msg} at line {error.lineno})") from None


def _file_records(path: Path) -> list[Any]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        text = read_utf8(path).removeprefix("\ufeff")
        return list(csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ","))
    data = read_json_values(path)
    if suffix == ".jsonl":
        return data
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of records, got {type(data).__name__}; or use JSONL")
    return data


def _datasets_folder(path: Path) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise ValueError(f"{path} is a folder; reading a datasets save_to_disk folder needs the `datasets` package "
                         "(pip install datasets), or export the split to CSV / JSONL") from None
    try:
        data = datasets.load_from_disk(str(path))
    except FileNotFoundError as error:
        raise ValueError(f"{path} is not a datasets save_to_disk folder ({error})") from None
    if isinstance(data, datasets.DatasetDict):
        raise ValueError(f"{path} holds the splits {', '.join(data)}; pass the folder of one split "
                         f"(e.g. {path / next(iter(data))})")
    return data.to_list()


def resolve_columns(records: Sequence[Mapping[str, Any]], text: Sequence[str] | None = None,
                    label: str | None = None, split: str | None = None, where: str = "the data") -> Columns:
    """The columns to read (the given ones, checked, or the GLUE defaults); ValueError naming the columns there are."""
    present = list(records[0])
    listing = f"its columns are {', '.join(present) or '(none)'}"
    if text is not None:
        if not 1 <= len(text) <= 2:
            raise ValueError(f"give one or two text columns, got {len(text)}")
        missing = [name for name in text if name not in present]
        if missing:
            raise ValueError(f"{where} has no column {', '.join(map(repr, missing))}; {listing}")
    else:
        text = next((names for names in TEXT_COLUMNS if all(n in present for n in names)), None)
        if text is None:
            known = ", ".join(sorted({name for names in TEXT_COLUMNS for name in names}))
            raise ValueError(f"{where} has no text column named {known}; "
                             f"{listing}: name the text columns (--text-columns a,b)")
    for name, option in ((label, "--label-column"), (split, "--split-column")):
        if name is not None and name not in present:
            raise ValueError(f"{where} has no column {name!r} ({option}); {listing}")
    label = label or next((name for name in LABEL_COLUMNS if name in present), None)
    if label is None:
        raise ValueError(f"{where} has no label column named {' or '.join(LABEL_COLUMNS)}; {listing}: name it "
                         "(--label-column)")
    return Columns(tuple(text), label, split)


def to_examples(records: Sequence[Mapping[str, Any]], columns: Columns, label2id: Mapping[str, int],
                regression: bool, where: str = "the data") -> list[ClassifyExample]:
    """The records as :class:`ClassifyExample` (labels parsed, not yet range-checked: :func:`classify` does that)."""
    lowered = {str(name).lower(): index for name, index in label2id.items()}
    examples = []
    for index, record in enumerate(records):
        at = f"{where} record {index}"
        texts = []
        for name in columns.text:
            value = record.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{at}: column {name!r} must be a non-empty text, got {value!r}")
            texts.append(value)
        value = record.get(columns.label)
        label = _score(value, at, columns.label) if regression else _label(value, label2id, lowered, at, columns.label)
        split = None if columns.split is None else str(record.get(columns.split))
        examples.append(ClassifyExample(texts[0], texts[1] if len(texts) == 2 else None, label, split))
    return examples


def _score(value: Any, at: str, column: str) -> float:
    try:
        if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{at}: {column!r} must be a real score for a regression head, got {value!r}") from None


def _label(value: Any, label2id: Mapping[str, int], lowered: Mapping[str, int], at: str, column: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
        if text in label2id:
            return int(label2id[text])
        if text.lower() in lowered:
            return int(lowered[text.lower()])
    raise ValueError(f"{at}: {column!r} {value!r} is neither a label id nor one of the model's labels "
                     f"({', '.join(map(str, label2id))}); use ids 0..{max(len(label2id), 1) - 1} or those names")
