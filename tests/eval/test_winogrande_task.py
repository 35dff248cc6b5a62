"""The ``lasnn_winogrande`` lm-eval task: found through the startup hook, scored as lm-eval's ``winogrande``, run
end to end on a tiny random LLaMA through the ``lasnn`` model (synthetic cached items, no download)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval")

import _lasnn_harness_hook as hook  # noqa: E402
import lasnn  # noqa: E402
from winogrande_data import ITEMS, install_fake_winogrande  # noqa: E402

TASK = "lasnn_winogrande"
TASKS = str(Path(lasnn.__file__).parent / "eval" / "tasks")


class FakeManager:
    def __init__(self, verbosity=None, include_path=None, include_defaults=True, metadata=None):
        self.include_path = include_path


def test_the_task_folder_is_lasnns_own_and_found_without_importing_lasnn():
    assert hook.task_folder() == TASKS
    assert (Path(TASKS) / f"{TASK}.yaml").is_file()


@pytest.mark.parametrize("given, expected", [
    (None, [TASKS]),
    ("mine/", [TASKS, "mine/"]),
    (["a", Path("b")], [TASKS, "a", Path("b")]),
    ((TASKS, "a"), [TASKS, "a"]),
])
def test_the_folder_goes_before_the_callers_paths(given, expected):
    assert hook.with_folder(given, TASKS) == expected


def test_include_tasks_adds_the_folder_once_and_only_with_the_defaults():
    class Manager(FakeManager):
        pass

    hook.include_tasks(Manager, TASKS)
    hook.include_tasks(Manager, TASKS)
    assert Manager().include_path == [TASKS]
    assert Manager(None, "mine").include_path == [TASKS, "mine"]
    assert Manager(include_path="mine", include_defaults=False).include_path == "mine"


def test_a_failed_inclusion_warns_and_leaves_lm_eval_alone():
    class Broken:
        pass

    with pytest.warns(RuntimeWarning, match="--include_path"):
        hook.include_tasks_of(Broken)


def test_a_fresh_lm_eval_indexes_the_task_without_importing_torch_or_lasnn():
    code = ("import json, sys; from lm_eval.tasks import TaskManager; m = TaskManager();"
            f"print(json.dumps({{'found': '{TASK}' in m.all_tasks, 'path': str(m.task_index['{TASK}'].yaml_path),"
            "'loaded': [n for n in ('torch', 'lasnn') if n in sys.modules],"
            "'finders': [type(f).__name__ for f in sys.meta_path]}))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-4000:]
    state = json.loads(completed.stdout.strip().splitlines()[-1])
    assert state["found"] and state["path"] == str(Path(TASKS) / f"{TASK}.yaml")
    assert state["loaded"] == [] and "IncludeTasksOnImport" not in state["finders"]


@pytest.fixture
def winogrande(monkeypatch, tmp_path):
    """The synthetic items, fetched into an empty cache through the real fetch path."""
    return install_fake_winogrande(monkeypatch, tmp_path)


def test_the_task_scores_the_text_after_the_blank_given_each_filled_option(winogrande):
    from lm_eval.tasks import TaskManager

    task = TaskManager().load([TASK])["tasks"][TASK]
    docs = list(task.test_docs())
    assert len(docs) == ITEMS
    task.build_all_requests(limit=ITEMS)
    doc_id, doc = next((i, d) for i, d in enumerate(docs) if d["sentence"].endswith("_ is too small."))
    requests = [r for r in task.instances if r.doc_id == doc_id]
    prefix = "The trophy does not fit in the suitcase because the "
    assert [r.arguments for r in requests] == [(prefix + "trophy", " is too small."),
                                               (prefix + "suitcase", " is too small.")]
    assert task.doc_to_text(doc) == 1 and doc["answer"] == "2"


@pytest.fixture(scope="module")
def lm(lm_folder, tmp_path_factory):
    from eval_helpers import TEXT
    from lasnn.eval.harness import LASNNLM

    text = tmp_path_factory.mktemp("calibration") / "calibration.txt"
    text.write_text(TEXT)
    return LASNNLM.create_from_arg_string(
        f"pretrained={lm_folder},calibration={text},calibration_sequences=2,calibration_length=64",
        {"batch_size": 4, "device": "cpu"})


def choices(results: dict) -> list[int]:
    """The option each logged sample chose (argmax of the two log-likelihoods), in document order."""
    samples = sorted(results["samples"][TASK], key=lambda s: s["doc_id"])
    return [max(range(2), key=lambda i: s["filtered_resps"][i][0]) for s in samples]


def test_simple_evaluate_runs_the_task_on_the_spiking_model_and_the_ann(winogrande, lm):
    snn = lm_eval.simple_evaluate(model=lm, tasks=[TASK], limit=6, log_samples=True)
    with lasnn.mode(lm.model, "ann"):
        ann = lm_eval.simple_evaluate(model=lm, tasks=[TASK], limit=6, log_samples=True)
    for results in (snn, ann):
        assert 0 <= results["results"][TASK]["acc,none"] <= 1
        assert len(results["samples"][TASK]) == 6
    assert len(choices(snn)) == len(choices(ann)) == 6
    assert winogrande == ["winogrande"]
