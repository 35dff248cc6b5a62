"""WinoGrande twin sentences from the Natural Instructions tasks inside the ``bigbench==1.0.0`` sdist.

Subtask 029 (objects) and 030 (persons) hold, per context word, targets that write a pair of twin sentences with one
blank each. An object target names the answer of each sentence (``Answer1`` / ``Answer2``, the two objects); a
person target uses the placeholders ``PersonX`` and ``PersonY``, and the task's definition fixes the answers:
PersonX for the first sentence, PersonY for the second. Every sentence becomes one binary item in the fields of
``allenai/winogrande`` (``sentence``, ``option1``, ``option2``, ``answer`` "1" or "2") plus ``source``.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lasnn.assets.cache import AssetError

SUBTASKS = {"subtask029_winogrande_full_object": "object", "subtask030_winogrande_full_person": "person"}
DATA_FILE = "winogrande.jsonl"
SUMMARY_FILE = "summary.json"
SEED = 0
FIELDS = ("sentence", "option1", "option2", "answer", "source")
PERSONS = ("PersonX", "PersonY")
_LINE = r"\s*\n\s*"
_PATTERNS = {
    "object": re.compile(rf"Sentence 1:(?P<s1>.+?){_LINE}Answer1:(?P<a1>.+?){_LINE}"
                         rf"Sentence 2:(?P<s2>.+?){_LINE}Answer2:(?P<a2>.+?)", re.DOTALL),
    "person": re.compile(rf"Sentence 1:(?P<s1>.+?){_LINE}Sentence 2:(?P<s2>.+?)", re.DOTALL),
}


def _clean(text: str) -> str:
    """Whitespace collapsed to single spaces."""
    return " ".join(text.split())


def _answer(text: str) -> str:
    """An object answer without its closing period (``holes.`` -> ``holes``)."""
    return _clean(text).removesuffix(".").strip()


def parse_target(target: str, source: str) -> list[dict[str, str]]:
    """The two items of one twin-sentence target, or [] if the target does not have the subtask's layout."""
    match = _PATTERNS[source].fullmatch(target.strip())
    if match is None:
        return []
    options = (_answer(match["a1"]), _answer(match["a2"])) if source == "object" else PERSONS
    return [{"sentence": _clean(match[key]), "option1": options[0], "option2": options[1], "answer": answer,
             "source": source} for key, answer in (("s1", "1"), ("s2", "2"))]


def rejection(item: dict[str, str]) -> str | None:
    """Why an item is not a well-formed binary Winograd item, or None if it is.

    Rules: one blank ``_``; text after it (the part lm-eval scores); two different options; object options that
    both occur in the sentence; ``PersonX`` and ``PersonY`` each exactly once in a person sentence.
    """
    sentence, first, second = item["sentence"], item["option1"], item["option2"]
    if sentence.count("_") != 1:
        return "not exactly one blank"
    if not sentence.partition("_")[2].strip():
        return "nothing after the blank"
    if not first or not second or first.lower() == second.lower():
        return "options empty or equal"
    if item["source"] == "object" and not all(o.lower() in sentence.lower() for o in (first, second)):
        return "an option is not in the sentence"
    if item["source"] == "person" and any(sentence.count(p) != 1 for p in PERSONS):
        return "PersonX or PersonY not exactly once"
    return None


def task_items(task: dict[str, Any], source: str, skipped: Counter[str]) -> Iterator[dict[str, str]]:
    """The well-formed items of one Natural Instructions ``task.json``; counts what it skips in ``skipped``."""
    for example in task["examples"]:
        for target in example["target"]:
            items = parse_target(target, source)
            if not items:
                skipped[f"{source}: target not in the subtask's layout"] += 1
            for item in items:
                reason = rejection(item)
                if reason is None:
                    yield item
                else:
                    skipped[f"{source}: {reason}"] += 1


def build_winogrande(extracted: Path, out: Path, seed: int = SEED) -> Path:
    """Write ``winogrande.jsonl`` (the items, shuffled with ``random.Random(seed)``) and ``summary.json`` (counts
    and skip reasons) into ``out`` from the extracted ``SUBTASK/task.json`` files; returns the JSONL's path."""
    skipped: Counter[str] = Counter()
    items: list[dict[str, str]] = []
    for subtask, source in SUBTASKS.items():
        path = extracted / subtask / "task.json"
        if not path.is_file():
            raise AssetError(f"{path.relative_to(extracted)} is missing: the archive does not hold the WinoGrande subtask {subtask}")
        items += task_items(json.loads(path.read_text(encoding="utf-8")), source, skipped)
    random.Random(seed).shuffle(items)
    out.mkdir(parents=True)
    data = out / DATA_FILE
    data.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    summary = {"items": len(items), "by_source": dict(Counter(item["source"] for item in items)),
               "skipped": dict(sorted(skipped.items())), "shuffle_seed": seed, "subtasks": list(SUBTASKS)}
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return data


def read_items(path: Path) -> list[dict[str, str]]:
    """The items of a WinoGrande JSONL file; ValueError naming the line of a malformed record."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            item = json.loads(line)
        except ValueError as error:
            raise ValueError(f"{path}:{number}: not a JSON record ({error})") from None
        if not isinstance(item, dict) or set(item) != set(FIELDS) or item["answer"] not in ("1", "2"):
            raise ValueError(f"{path}:{number}: expected a record with exactly the fields {', '.join(FIELDS)} "
                             "and answer '1' or '2'; fetch it again with `lasnn fetch winogrande`")
        items.append(item)
    return items


def load_winogrande() -> list[dict[str, str]]:
    """The WinoGrande items (fetched, verified and cached on first use by ``lasnn fetch winogrande``)."""
    from lasnn.assets.fetching import fetch

    return read_items(fetch("winogrande") / DATA_FILE)
