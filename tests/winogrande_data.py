"""A tiny synthetic ``bigbench`` sdist with the two WinoGrande subtasks, and a fake ``winogrande`` asset built from it."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

import lasnn.assets.fetching as fetching
from lasnn.assets import ASSETS
from lasnn.assets.registry import get_spec

FOLDER = "bigbench-1.0.0/bigbench/benchmark_tasks/natural_instructions"
OBJECT_TARGETS = [
    "Sentence 1: The trophy does not fit in the suitcase because the _ is too big. \nAnswer1: trophy. \n"
    "Sentence 2: The trophy does not fit in the suitcase because the _ is too small. \nAnswer2: suitcase.",
    "Sentence 1: The rats fled their holes for the open  spaces since the _ were crowded. \nAnswer1: holes. \n"
    "Sentence 2: The rats fled their holes for the open spaces since the _ were roomy. \nAnswer2: spaces.",
    "Sentence 1: The ball hit the _ and the _ broke. \nAnswer1: window. \n"
    "Sentence 2: The ball hit the window and the _ bounced. \nAnswer2: ball.",
]
PERSON_TARGETS = [
    "Sentence 1: PersonX thanked PersonY because _ had received help. \n"
    "Sentence 2: PersonX thanked PersonY because _ had given help.",
    "Sentence 1: personx called persony as _ was lonely. \nSentence 2: PersonX called PersonY as _ was free.",
    "A single sentence without the twin layout.",
]
ITEMS = 8  # objects 2 + 2 + 1 (a sentence with two blanks), persons 2 + 1 (a lower-case personx) + 0 (no layout)
SKIPPED = {"object: not exactly one blank": 1, "person: PersonX or PersonY not exactly once": 1,
           "person: target not in the subtask's layout": 1}


def task(name: str, targets: list[str]) -> dict:
    """A Natural Instructions task.json: the first target alone, then the rest under one context word."""
    return {"name": name, "examples": [{"input": "Context Word: a.", "target": targets[:1]},
                                       {"input": "Context Word: b.", "target": targets[1:]}]}


def bigbench_sdist(path: Path) -> Path:
    """The synthetic sdist: the two subtasks, a third WinoGrande subtask and a setup.py that must never run."""
    files = {
        f"{FOLDER}/subtask029_winogrande_full_object/task.json": task("029", OBJECT_TARGETS),
        f"{FOLDER}/subtask030_winogrande_full_person/task.json": task("030", PERSON_TARGETS),
        f"{FOLDER}/subtask033_winogrande_answer_generation/task.json": task("033", ["ignored"]),
    }
    with tarfile.open(path, "w:gz") as tf:
        members = {name: json.dumps(content).encode() for name, content in files.items()}
        members["bigbench-1.0.0/setup.py"] = b"raise SystemExit('never run me')\n"
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def install_fake_winogrande(monkeypatch: pytest.MonkeyPatch, folder: Path, **fields: object) -> list[str]:
    """Point the ``winogrande`` asset at the synthetic sdist (its true sha256, no pinned JSONL unless given) in an
    empty cache under ``folder``; returns the list of downloads made."""
    import dataclasses

    archive = bigbench_sdist(folder / "bigbench-1.0.0.tar.gz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    spec = dataclasses.replace(get_spec("winogrande"), sha256=digest, converted_sha256=None)
    monkeypatch.setitem(ASSETS, "winogrande", dataclasses.replace(spec, **fields))
    monkeypatch.setenv("LASNN_CACHE", str(folder / "cache"))
    monkeypatch.delenv("LASNN_OFFLINE", raising=False)
    calls: list[str] = []

    def fake_download(spec, dest: Path) -> Path:
        calls.append(spec.name)
        dest.mkdir(parents=True)
        return Path(shutil.copy(archive, dest))

    monkeypatch.setattr(fetching, "download", fake_download)
    return calls
