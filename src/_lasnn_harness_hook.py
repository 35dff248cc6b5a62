"""Interpreter-startup hook (run by ``lasnn-harness.pth``): makes ``lm_eval --model lasnn`` work.

lm-eval discovers models only in its own registry, which ``lm_eval.models`` fills with lazy ``"module:Class"``
placeholders when it is first imported; it reads no plugin entry points. This hook waits for that import and adds
the placeholder ``lasnn -> lasnn.eval.harness:LASNNLM`` beside lm-eval's own models. At startup it imports nothing
but ``sys``; lasnn and torch load only when lm-eval builds the ``lasnn`` model.
"""

from __future__ import annotations

import sys

TRIGGER = "lm_eval.models"
MODEL_NAME = "lasnn"
MODEL_TARGET = "lasnn.eval.harness:LASNNLM"


def register(registry: object) -> None:
    """Add the lazy ``lasnn`` placeholder to lm-eval's model registry unless the model is already there."""
    if MODEL_NAME not in registry:
        registry.register(MODEL_NAME, target=MODEL_TARGET)


class RegisterOnImport:
    """A meta-path finder that finds nothing: on the first import of ``lm_eval.models`` it registers the model,
    removes itself and lets the regular finders import the module."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname != TRIGGER:
            return None
        uninstall()
        try:
            from lm_eval.api.registry import model_registry

            register(model_registry)
        except Exception as error:
            import warnings

            warnings.warn(f"lasnn could not register its lm-eval model ({error!r}); "
                          "run `import lasnn.eval.harness` before using --model lasnn", RuntimeWarning, stacklevel=2)
        return None


def install() -> None:
    """Register at once if ``lm_eval.models`` is already imported, else wait for its import."""
    if TRIGGER in sys.modules:
        from lm_eval.api.registry import model_registry

        register(model_registry)
    elif not any(isinstance(finder, RegisterOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, RegisterOnImport())


def uninstall() -> None:
    """Remove the finder (it acts once)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, RegisterOnImport)]
