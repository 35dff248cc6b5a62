"""lasnn.eval.classify on tiny random sequence classifiers: the head's own predictions, GLUE metrics, errors."""

import json

import pytest
import torch
import transformers
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score

import lasnn
from eval_helpers import TEXT
from lasnn.eval import ClassifyExample, classify, read_records, resolve_columns, to_examples
from lasnn.eval.loading import sentence_batches
from tiny_models import CONFIGS

SENTENCES = [TEXT[i: i + 24 + i % 17] for i in range(0, 480, 20)]


def tiny_classifier(tokenizer, num_labels: int, seed: int = 0) -> transformers.BertForSequenceClassification:
    """A converted tiny random BERT classifier (byte tokenizer, pad 256) with ``num_labels`` outputs."""
    config = CONFIGS["bert"]()
    config.vocab_size, config.pad_token_id, config.num_labels = 260, 256, num_labels
    config.id2label = {i: name for i, name in enumerate(["negative", "positive", "neutral"][:num_labels])} \
        if num_labels > 1 else {0: "score"}
    config.label2id = {name: i for i, name in config.id2label.items()}
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(config).eval()
    return lasnn.convert(model, lasnn.LASConfig(calibration_sequences=16),
                         calibration_data=sentence_batches(tokenizer, SENTENCES[:16], batch_size=16))


@pytest.fixture(scope="module")
def binary(tokenizer):
    return tiny_classifier(tokenizer, 2)


@pytest.fixture(scope="module")
def regression(tokenizer):
    return tiny_classifier(tokenizer, 1)


def _head(model, tokenizer, example, mode="ann"):
    """The logits of one unpadded example, straight from the model."""
    with torch.no_grad(), lasnn.mode(model, mode):
        return model(**tokenizer(example.text, example.text_pair, return_tensors="pt")).logits[0]


def test_classify_scores_the_head_and_matches_sklearn(binary, tokenizer):
    examples = [ClassifyExample(s, label=i % 2) for i, s in enumerate(SENTENCES)]
    result = classify(binary, tokenizer, examples, batch_size=5)
    ann = [int(_head(binary, tokenizer, e).argmax()) for e in examples]
    snn = [int(_head(binary, tokenizer, e, "equivalent").argmax()) for e in examples]
    labels = [e.label for e in examples]
    assert result.task == "classify" and result.metric == "accuracy" and result.mode == "equivalent"
    assert result.ann == accuracy_score(labels, ann) and result.snn == accuracy_score(labels, snn)
    assert result.extra["ann_f1"] == f1_score(labels, ann) and result.extra["snn_f1"] == f1_score(labels, snn)
    assert result.extra["changed_indices"] == [i for i, (a, s) in enumerate(zip(ann, snn)) if a != s]
    assert result.changed == len(result.extra["changed_indices"])
    assert result.parity["positions"] == len(examples) and result.parity["max_rel"] < 0.05
    assert classify(binary, tokenizer, examples, batch_size=1).to_dict()["extra"] == result.extra  # padding-free


def test_text_pairs_are_encoded_as_pairs(binary, tokenizer):
    examples = [ClassifyExample(a, b, 1) for a, b in zip(SENTENCES[:6], SENTENCES[6:12])]
    result = classify(binary, tokenizer, examples, metric="glue-mrpc", batch_size=3)
    ann = [int(_head(binary, tokenizer, e).argmax()) for e in examples]
    assert result.metric == "f1" and result.ann == f1_score([1] * 6, ann)
    assert result.extra["ann_accuracy"] == accuracy_score([1] * 6, ann) and result.extra["metric"] == "glue-mrpc"


def test_regression_head_scores_pearson_and_spearman(regression, tokenizer):
    examples = [ClassifyExample(s, label=float(i % 5) + 0.5) for i, s in enumerate(SENTENCES)]
    result = classify(regression, tokenizer, examples, batch_size=4)
    ann = [float(_head(regression, tokenizer, e)[0]) for e in examples]
    labels = [e.label for e in examples]
    assert result.metric == "pearson" and result.extra["metric"] == "glue-stsb"
    assert result.ann == pytest.approx(pearsonr(ann, labels).statistic, abs=1e-5)
    assert result.extra["ann_spearman"] == pytest.approx(spearmanr(ann, labels).statistic, abs=1e-5)
    assert result.changed == 0 and result.extra["score_tolerance"] == 1e-2
    strict = classify(regression, tokenizer, examples, batch_size=4, score_tolerance=0.0)
    assert strict.changed == len(strict.extra["changed_indices"]) <= len(examples)


def test_splits_are_scored_on_their_own(tokenizer):
    model = tiny_classifier(tokenizer, 3)
    examples = [ClassifyExample(a, b, i % 3, "matched" if i < 5 else "mismatched")
                for i, (a, b) in enumerate(zip(SENTENCES[:12], SENTENCES[12:]))]
    result = classify(model, tokenizer, examples, metric="glue-mnli")
    ann = [int(_head(model, tokenizer, e).argmax()) for e in examples]
    for split, rows in (("matched", range(5)), ("mismatched", range(5, 12))):
        expected = accuracy_score([examples[i].label for i in rows], [ann[i] for i in rows])
        assert result.extra[f"ann_accuracy_{split}"] == expected
    assert result.ann == accuracy_score([e.label for e in examples], ann)


@pytest.mark.parametrize("metric, examples, fragment", [
    ("glue-stsb", [ClassifyExample("a b c", label=0)], "scores a regression head"),
    ("glue-mnli", [ClassifyExample("a b c", label=0)], "expects a head with 3 labels"),
    ("bleu", [ClassifyExample("a b c", label=0)], "unknown metric 'bleu'"),
    (None, [ClassifyExample("a b c", label=2)], "example 0 has label 2, outside 0..1"),
    (None, [ClassifyExample("a b c", label=True)], "example 0 has label True"),
    (None, [], "no examples"),
    (None, [ClassifyExample("x" * 300, label=0)], "has 300 tokens but BertForSequenceClassification has 256"),
])
def test_bad_classify_input_is_named(binary, tokenizer, metric, examples, fragment):
    with pytest.raises(ValueError, match=fragment):
        classify(binary, tokenizer, examples, metric=metric)


def test_metrics_that_do_not_fit_the_head_and_models_without_one(regression, tokenizer):
    with pytest.raises(ValueError, match="one output .* use glue-stsb"):
        classify(regression, tokenizer, [ClassifyExample("a b", label=1.0)], metric="accuracy")
    with pytest.raises(ValueError, match="regression head needs a real score"):
        classify(regression, tokenizer, [ClassifyExample("a b", label="high")])
    base = lasnn.convert(transformers.BertModel(CONFIGS["bert"]()).eval(), lasnn.LASConfig(calibration_sequences=1),
                         calibration_data=[{"input_ids": torch.randint(3, 250, (1, 8)),
                                            "attention_mask": torch.ones(1, 8, dtype=torch.long)}])
    with pytest.raises(ValueError, match="BertModel has no sequence-classification head"):
        classify(base, tokenizer, [ClassifyExample("a b", label=0)])


def test_truncation_with_max_length(binary, tokenizer):
    result = classify(binary, tokenizer, [ClassifyExample("x" * 300, label=0)], max_length=64)
    assert result.examples == 1


# ---------------------------------------------------------------- tables

LABEL2ID = {"negative": 0, "positive": 1}


def test_tables_in_every_format(tmp_path):
    rows = [{"sentence1": "a b", "sentence2": "c d", "label": "Positive", "split": "m"},
            {"sentence1": "e f", "sentence2": "g h", "label": "0", "split": "mm"}]
    (tmp_path / "t.csv").write_text("sentence1,sentence2,label,split\na b,c d,Positive,m\ne f,g h,0,mm\n")
    (tmp_path / "t.tsv").write_text("sentence1\tsentence2\tlabel\tsplit\na b\tc d\tPositive\tm\ne f\tg h\t0\tmm\n")
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (tmp_path / "t.json").write_text(json.dumps(rows))
    expected = [ClassifyExample("a b", "c d", 1, "m"), ClassifyExample("e f", "g h", 0, "mm")]
    for name in ("t.csv", "t.tsv", "t.jsonl", "t.json"):
        records = read_records(tmp_path / name)
        columns = resolve_columns(records, split="split")
        assert columns.text == ("sentence1", "sentence2") and columns.label == "label"
        assert to_examples(records, columns, LABEL2ID, regression=False) == expected, name


def test_columns_given_and_scores(tmp_path):
    (tmp_path / "s.jsonl").write_text('{"a": "x y", "b": "z", "sim": "3.5"}\n{"a": "u", "b": "v", "sim": 1}\n')
    records = read_records(tmp_path / "s.jsonl")
    columns = resolve_columns(records, ("b", "a"), "sim")
    assert to_examples(records, columns, {}, regression=True) == [ClassifyExample("z", "x y", 3.5),
                                                                  ClassifyExample("v", "u", 1.0)]
    assert resolve_columns([{"text": "t", "score": 1}]).text == ("text",)


@pytest.mark.parametrize("content, name, fragment", [
    ("", "e.csv", "holds no examples"),
    ("sentence,label\n", "h.csv", "holds no examples"),
    ("", "e.jsonl", "holds no examples"),
    ("[1, 2]", "l.json", "record 0: expected an object"),
    ('{"a": 1}', "o.json", "expected a JSON list"),
    ("{bad", "b.jsonl", "not valid JSON"),
    ("a,b", "t.txt", "unknown table format '.txt'"),
])
def test_bad_tables_are_named(tmp_path, content, name, fragment):
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=fragment):
        read_records(tmp_path / name)


def test_missing_files_columns_and_labels_are_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_records(tmp_path / "missing.csv")
    records = [{"review": "good", "stars": "5"}]
    with pytest.raises(ValueError, match="no text column named .*its columns are review, stars.*--text-columns"):
        resolve_columns(records)
    with pytest.raises(ValueError, match="no column 'body'; its columns are review, stars"):
        resolve_columns(records, ("body",))
    with pytest.raises(ValueError, match="no label column named label or score"):
        resolve_columns(records, ("review",))
    with pytest.raises(ValueError, match=r"no column 'grade' \(--label-column\)"):
        resolve_columns(records, ("review",), "grade")
    columns = resolve_columns(records, ("review",), "stars")
    with pytest.raises(ValueError, match="record 0: 'stars' 'great' is neither a label id nor one of the model's "
                                         "labels \\(negative, positive\\)"):
        to_examples([{"review": "good", "stars": "great"}], columns, LABEL2ID, regression=False)
    with pytest.raises(ValueError, match="record 0: column 'review' must be a non-empty text"):
        to_examples([{"review": "", "stars": "1"}], columns, LABEL2ID, regression=False)
    with pytest.raises(ValueError, match="'stars' must be a real score"):
        to_examples([{"review": "good", "stars": "high"}], columns, {}, regression=True)


def test_datasets_folders(tmp_path):
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_list([{"sentence": "a b", "label": 1}, {"sentence": "c", "label": 0}])
    data.save_to_disk(str(tmp_path / "one"))
    records = read_records(tmp_path / "one")
    assert to_examples(records, resolve_columns(records), LABEL2ID, False) == [ClassifyExample("a b", label=1),
                                                                             ClassifyExample("c", label=0)]
    datasets.DatasetDict({"validation": data}).save_to_disk(str(tmp_path / "all"))
    with pytest.raises(ValueError, match="holds the splits validation; pass the folder of one split"):
        read_records(tmp_path / "all")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="is not a datasets save_to_disk folder"):
        read_records(tmp_path / "plain")


# ---------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    """A tiny random BertForSequenceClassification (labels negative / positive) saved with the byte tokenizer."""
    from eval_helpers import save_folder

    config = CONFIGS["bert"]()
    config.vocab_size, config.pad_token_id, config.num_labels = 260, 256, 2
    config.id2label, config.label2id = {0: "negative", 1: "positive"}, {"negative": 0, "positive": 1}
    torch.manual_seed(0)
    return save_folder(transformers.BertForSequenceClassification(config).eval(), tmp_path_factory.mktemp("cls"))


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "calibration.txt").write_text(TEXT)
    lines = ["text,label"] + [f"{s.replace(',', ' ')},{'positive' if i % 2 else 'NEGATIVE'}"
                              for i, s in enumerate(SENTENCES)]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    pairs = [{"q": a, "p": b, "y": i % 2} for i, (a, b) in enumerate(zip(SENTENCES[:8], SENTENCES[8:16]))]
    (folder / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pairs))
    (folder / "wide.csv").write_text("text,label\nsome words,5\n")
    return folder


def _cli(folder, files, *args):
    from lasnn.cli import main

    return main(["eval", str(folder), "classify", "--calibration", str(files / "calibration.txt"),
                 "--calibration-sequences", "2", "--calibration-length", "64", *map(str, args)])


def test_cli_classify_csv_and_jsonl_pairs(classifier_folder, cli_files, tmp_path, capsys):
    assert _cli(classifier_folder, cli_files, "--data", cli_files / "data.csv", "--limit", "10",
                "--json", tmp_path / "c.json") == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "c.json").read_text())
    result = report["result"]
    assert result["task"] == "classify" and result["examples"] == 10 and report["data"].endswith("data.csv")
    assert {"ann_f1", "snn_f1", "changed_indices"} <= set(result["extra"]) and result["metric"] == "accuracy"
    assert "classify (10 examples, ann vs equivalent)" in printed and "f1" in printed
    assert _cli(classifier_folder, cli_files, "--data", cli_files / "pairs.jsonl", "--text-columns", "q,p",
                "--label-column", "y", "--metric", "glue-qqp", "--json", tmp_path / "p.json") == 0
    result = json.loads((tmp_path / "p.json").read_text())["result"]
    assert result["metric"] == "f1" and result["examples"] == 8 and result["extra"]["metric"] == "glue-qqp"


@pytest.mark.parametrize("args, fragment", [
    ([], "the classify task needs --data FILE"),
    (["--data", "{files}/missing.csv"], "does not exist"),
    (["--data", "{files}/data.csv", "--text-columns", "body"], "has no column 'body'; its columns are text, label"),
    (["--data", "{files}/data.csv", "--text-columns", "a,b,c"], "one or two comma-separated column names"),
    (["--data", "{files}/data.csv", "--label-column", "stars"], "has no column 'stars' (--label-column)"),
    (["--data", "{files}/wide.csv"], "example 0 has label 5, outside 0..1"),
    (["--data", "{files}/data.csv", "--metric", "glue-stsb"], "glue-stsb scores a regression head"),
    (["--data", "{files}/data.csv", "--metric", "bleu"], "invalid choice: 'bleu'"),
])
def test_cli_classify_errors_are_one_line(classifier_folder, cli_files, capsys, args, fragment):
    try:
        code = _cli(classifier_folder, cli_files, *[a.format(files=cli_files) for a in args])
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err


def test_cli_classify_refuses_a_model_without_a_classification_head(cli_files, tmp_path, capsys):
    from eval_helpers import save_folder, tiny_encoder

    folder = save_folder(tiny_encoder(), tmp_path / "encoder")
    assert _cli(folder, cli_files, "--data", cli_files / "data.csv") == 2
    assert "no trained sequence-classification head" in capsys.readouterr().err
