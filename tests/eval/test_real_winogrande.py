"""SmolLM2-135M on the real ``lasnn_winogrande`` items, ANN against SNN (``-m assets``, after ``lasnn fetch winogrande``)."""

import pytest

from lasnn.assets import is_fetched

pytestmark = [pytest.mark.assets, pytest.mark.slow,
              pytest.mark.skipif(not all(is_fetched(a) for a in ("smollm2-135m", "shakespeare", "winogrande")),
                                 reason="run `lasnn fetch smollm2-135m shakespeare winogrande`")]

TASK = "lasnn_winogrande"
ITEMS = 40


def test_smollm2_spiking_chooses_the_anns_options_on_winogrande():
    lm_eval = pytest.importorskip("lm_eval")
    import lasnn
    from lasnn.eval.harness import LASNNLM

    lm = LASNNLM.create_from_arg_string("pretrained=smollm2-135m", {"batch_size": 16, "device": "cpu"})
    runs = {}
    for mode in ("ann", "equivalent"):
        with lasnn.mode(lm.model, mode):
            runs[mode] = lm_eval.simple_evaluate(model=lm, tasks=[TASK], limit=ITEMS, log_samples=True)
    chosen = {mode: [max(range(2), key=lambda i: s["filtered_resps"][i][0])
                     for s in sorted(run["samples"][TASK], key=lambda s: s["doc_id"])] for mode, run in runs.items()}
    print({mode: run["results"][TASK]["acc,none"] for mode, run in runs.items()})
    assert len(chosen["ann"]) == ITEMS
    assert sum(a == s for a, s in zip(chosen["ann"], chosen["equivalent"])) >= ITEMS - 1
    assert 0.4 <= runs["ann"]["results"][TASK]["acc,none"] <= 0.8
