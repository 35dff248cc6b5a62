"""The startup hook that registers ``lasnn`` with lm-eval: installed by the package, cheap, lazy and idempotent."""

import json
import subprocess
import sys

import pytest

import _lasnn_harness_hook as hook


class FakeRegistry:
    def __init__(self, objs=None):
        self.objs = dict(objs or {})

    def __contains__(self, alias):
        return alias in self.objs

    def register(self, alias, target):
        assert alias not in self.objs
        self.objs[alias] = target


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (so site-packages' .pth files run) and return the JSON it prints."""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_installed_hook_waits_without_importing_lasnn_or_torch():
    state = run_python("import json, sys; print(json.dumps({"
                       "'finders': [type(f).__name__ for f in sys.meta_path],"
                       "'loaded': [m for m in ('torch', 'lasnn', 'lm_eval') if m in sys.modules]}))")
    assert "RegisterOnImport" in state["finders"]
    assert state["loaded"] == []


def test_importing_lm_eval_models_registers_a_lazy_placeholder_beside_lm_eval_models():
    pytest.importorskip("lm_eval")
    state = run_python("import json, sys, lm_eval.models; from lm_eval.api.registry import model_registry as r;"
                       "print(json.dumps({'lasnn': r._objs['lasnn'], 'hf': 'hf' in r, 'lasnn_loaded': 'lasnn' in "
                       "sys.modules, 'finders': [type(f).__name__ for f in sys.meta_path]}))")
    assert state == {"lasnn": hook.MODEL_TARGET, "hf": True, "lasnn_loaded": False,
                     "finders": [name for name in state["finders"] if name != "RegisterOnImport"]}


def test_register_adds_the_placeholder_once_and_keeps_an_existing_model():
    registry = FakeRegistry()
    hook.register(registry)
    hook.register(registry)
    assert registry.objs == {"lasnn": "lasnn.eval.harness:LASNNLM"}
    own = FakeRegistry({"lasnn": object})
    hook.register(own)
    assert own.objs == {"lasnn": object}


def test_install_registers_at_once_when_lm_eval_models_is_already_imported(monkeypatch):
    pytest.importorskip("lm_eval")
    import lm_eval.api.registry
    import lm_eval.models  # noqa: F401

    registry = FakeRegistry()
    monkeypatch.setattr(lm_eval.api.registry, "model_registry", registry)
    before = list(sys.meta_path)
    hook.install()
    assert registry.objs == {"lasnn": hook.MODEL_TARGET}
    assert sys.meta_path == before


def test_a_failed_registration_warns_and_leaves_the_import_alone(monkeypatch):
    pytest.importorskip("lm_eval")
    import lm_eval.api.registry

    class BrokenRegistry(FakeRegistry):
        def register(self, alias, target):
            raise ValueError("registry is frozen")

    monkeypatch.setattr(lm_eval.api.registry, "model_registry", BrokenRegistry())
    finder = hook.RegisterOnImport()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    with pytest.warns(RuntimeWarning, match="import lasnn.eval.harness"):
        assert finder.find_spec(hook.TRIGGER) is None
    assert finder not in sys.meta_path


def test_the_placeholder_resolves_to_the_spiking_harness_model():
    pytest.importorskip("lm_eval")
    from lm_eval.api.registry import get_model

    from lasnn.eval.harness import LASNNLM

    assert get_model("lasnn") is LASNNLM
    assert hook.MODEL_TARGET == f"{LASNNLM.__module__}:{LASNNLM.__name__}"
