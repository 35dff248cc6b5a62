"""The ``winogrande`` asset: parsing the twin sentences, building the cached JSONL from a synthetic sdist, the real
asset (``-m assets``, after ``lasnn fetch winogrande``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from lasnn.assets import ASSETS, AssetError, AssetIntegrityError, fetch, is_fetched
from lasnn.assets.cache import MARKER
from lasnn.assets.registry import fetch_all_names, get_spec
from lasnn.assets.winogrande import (
    DATA_FILE,
    SUMMARY_FILE,
    build_winogrande,
    load_winogrande,
    parse_target,
    read_items,
    rejection,
)
from winogrande_data import ITEMS, OBJECT_TARGETS, PERSON_TARGETS, SKIPPED, install_fake_winogrande, task


def test_an_object_target_gives_two_items_answered_by_its_answers():
    first, second = parse_target(OBJECT_TARGETS[1], "object")
    assert first == {"sentence": "The rats fled their holes for the open spaces since the _ were crowded.",
                     "option1": "holes", "option2": "spaces", "answer": "1", "source": "object"}
    assert second["sentence"].endswith("_ were roomy.") and second["answer"] == "2"
    assert (second["option1"], second["option2"]) == ("holes", "spaces")


def test_a_person_target_is_answered_personx_then_persony():
    first, second = parse_target(PERSON_TARGETS[0], "person")
    assert (first["option1"], first["option2"], first["answer"]) == ("PersonX", "PersonY", "1")
    assert second == {"sentence": "PersonX thanked PersonY because _ had given help.", "option1": "PersonX",
                      "option2": "PersonY", "answer": "2", "source": "person"}


def test_targets_without_the_layout_give_nothing():
    assert parse_target(PERSON_TARGETS[2], "person") == []
    assert parse_target(PERSON_TARGETS[0], "object") == []


@pytest.mark.parametrize("sentence, options, source, reason", [
    ("The _ hit the _.", ("ball", "wall"), "object", "not exactly one blank"),
    ("The ball hit the wall.", ("ball", "wall"), "object", "not exactly one blank"),
    ("The ball hit the _", ("ball", "wall"), "object", "nothing after the blank"),
    ("The ball hit the _ hard.", ("Ball", "ball"), "object", "options empty or equal"),
    ("The ball hit the _ hard.", ("ball", "wall"), "object", "an option is not in the sentence"),
    ("PersonX met PersonX as _ left.", ("PersonX", "PersonY"), "person", "PersonX or PersonY not exactly once"),
    ("PersonX met PersonY as _ left.", ("PersonX", "PersonY"), "person", None),
    ("The ball hit the wall and the _ broke.", ("ball", "wall"), "object", None),
])
def test_rejection_rules(sentence, options, source, reason):
    item = {"sentence": sentence, "option1": options[0], "option2": options[1], "answer": "1", "source": source}
    assert rejection(item) == reason


def extracted(folder: Path) -> Path:
    for name, targets in (("subtask029_winogrande_full_object", OBJECT_TARGETS),
                          ("subtask030_winogrande_full_person", PERSON_TARGETS)):
        (folder / name).mkdir(parents=True)
        (folder / name / "task.json").write_text(json.dumps(task(name, targets)))
    return folder


def test_build_writes_shuffled_items_and_a_summary_of_what_it_skipped(tmp_path):
    data = build_winogrande(extracted(tmp_path / "x"), tmp_path / "out")
    items = read_items(data)
    assert len(items) == ITEMS and Counter(i["source"] for i in items) == {"object": 5, "person": 3}
    summary = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())
    assert summary["items"] == ITEMS and summary["skipped"] == SKIPPED and summary["shuffle_seed"] == 0
    again = build_winogrande(tmp_path / "x", tmp_path / "again")
    assert again.read_bytes() == data.read_bytes()
    other = read_items(build_winogrande(tmp_path / "x", tmp_path / "other", seed=1))
    assert other != items and sorted(map(str, other)) == sorted(map(str, items))


def test_build_names_a_missing_subtask(tmp_path):
    folder = extracted(tmp_path / "x")
    (folder / "subtask030_winogrande_full_person" / "task.json").unlink()
    with pytest.raises(AssetError, match="subtask030_winogrande_full_person/task.json is missing"):
        build_winogrande(folder, tmp_path / "out")


def test_fetch_builds_the_jsonl_from_the_sdist_without_running_it(monkeypatch, tmp_path):
    downloads = install_fake_winogrande(monkeypatch, tmp_path)
    folder = fetch("winogrande")
    assert sorted(p.name for p in folder.iterdir()) == sorted([MARKER, DATA_FILE, SUMMARY_FILE])
    marker = json.loads((folder / MARKER).read_text())
    assert set(marker["files"]) == {DATA_FILE, SUMMARY_FILE} and marker["convert"] == "winogrande-jsonl"
    assert len(load_winogrande()) == ITEMS and downloads == ["winogrande"]
    (folder / DATA_FILE).write_text((folder / DATA_FILE).read_text().replace("trophy", "medal"))
    assert not is_fetched("winogrande")
    assert len(load_winogrande()) == ITEMS and downloads == ["winogrande", "winogrande"]


def test_a_jsonl_that_is_not_the_pinned_one_is_refused(monkeypatch, tmp_path):
    install_fake_winogrande(monkeypatch, tmp_path, converted_sha256="0" * 64)
    with pytest.raises(AssetIntegrityError, match="winogrande.jsonl from bigbench==1.0.0 converted by winogrande-jsonl"):
        fetch("winogrande")
    assert not (tmp_path / "cache" / "winogrande").exists()


def test_read_items_names_the_bad_line(tmp_path):
    path = tmp_path / "w.jsonl"
    good = {"sentence": "a _ b", "option1": "a", "option2": "b", "answer": "1", "source": "object"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "answer": "3"}) + "\n")
    with pytest.raises(ValueError, match=r"w.jsonl:2: expected a record with exactly the fields"):
        read_items(path)
    path.write_text("{not json\n")
    with pytest.raises(ValueError, match=r"w.jsonl:1: not a JSON record"):
        read_items(path)


def test_fetch_all_leaves_the_large_winogrande_download_out():
    assert set(fetch_all_names()) == set(ASSETS) - {"winogrande"}
    assert get_spec("winogrande").requirement == "bigbench==1.0.0"


@pytest.mark.assets
@pytest.mark.skipif(not is_fetched("winogrande"), reason="run `lasnn fetch winogrande` (a 358 MB sdist)")
def test_real_winogrande_items():
    items = load_winogrande()
    assert len(items) == 56231
    assert Counter(i["source"] for i in items) == {"object": 24158, "person": 32073}
    assert Counter(i["answer"] for i in items) == {"1": 28116, "2": 28115}
    assert all(rejection(item) is None for item in items)
    assert items[0]["sentence"] == ("The professor preferred to teach with the books instead of the computers, "
                                    "because the _ were up to date.")
