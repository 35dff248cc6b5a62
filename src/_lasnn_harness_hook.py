"""Interpreter-startup hook (run by ``lasnn-harness.pth``): makes ``lm_eval --model lasnn --tasks lasnn_...`` work.

lm-eval discovers models only in its own registry, which ``lm_eval.models`` fills with lazy ``"module:Class"``
placeholders when it is first imported; it reads no plugin entry points. This hook waits for that import and adds
the placeholder ``lasnn -> lasnn.eval.harness:LASNNLM`` beside lm-eval's own models. lm-eval finds tasks only in its
own folder and in ``include_path``: once ``lm_eval.tasks`` has been imported, the hook makes every ``TaskManager``
that includes lm-eval's default tasks include lasnn's task folder (``lasnn/eval/tasks``) too. At startup it imports
nothing but ``sys``; lasnn and torch load only when lm-eval builds the ``lasnn`` model or loads a lasnn task.
"""

from __future__ import annotations

import sys
from typing import Any

TRIGGER = "lm_eval.models"
MODEL_NAME = "lasnn"
MODEL_TARGET = "lasnn.eval.harness:LASNNLM"
TASKS_TRIGGER = "lm_eval.tasks"
TASKS_FOLDER = ("eval", "tasks")


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


def task_folder() -> str:
    """lasnn's lm-eval task folder, located without importing lasnn."""
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec(MODEL_NAME)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the lasnn package is not importable")
    return str(Path(spec.submodule_search_locations[0], *TASKS_FOLDER))


def with_folder(include_path: Any, folder: str) -> list[Any]:
    """``include_path`` (None, one path or a list of paths) as a list that starts with ``folder``, so the caller's
    own paths, which lm-eval indexes later, can still override lasnn's tasks."""
    paths = [] if include_path is None else list(include_path) if isinstance(include_path, (list, tuple)) \
        else [include_path]
    return paths if folder in map(str, paths) else [folder, *paths]


def include_tasks(manager: type, folder: str) -> None:
    """Make ``manager`` (lm-eval's ``TaskManager``) include ``folder`` whenever it includes lm-eval's default tasks."""
    original = manager.__init__
    if getattr(original, "lasnn_tasks", None) == folder:
        return
    import functools
    import inspect

    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(*args: Any, **kwargs: Any) -> None:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if bound.arguments.get("include_defaults", True):
            bound.arguments["include_path"] = with_folder(bound.arguments.get("include_path"), folder)
        original(*bound.args, **bound.kwargs)

    __init__.lasnn_tasks = folder  # type: ignore[attr-defined]
    manager.__init__ = __init__  # type: ignore[misc]


def include_tasks_of(module: Any) -> None:
    """:func:`include_tasks` on the ``TaskManager`` of ``lm_eval.tasks``; a failure warns and changes nothing."""
    try:
        include_tasks(module.TaskManager, task_folder())
    except Exception as error:
        import warnings

        warnings.warn(f"lasnn could not add its lm-eval tasks ({error!r}); pass --include_path with the folder "
                      "lasnn/eval/tasks of the installed lasnn", RuntimeWarning, stacklevel=2)


class ThenIncludeTasks:
    """The regular loader of ``lm_eval.tasks``, followed by :func:`include_tasks_of` once the module has run."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        include_tasks_of(module)


class IncludeTasksOnImport:
    """A meta-path finder that, on the first import of ``lm_eval.tasks``, removes itself and hands the import to the
    regular finders, wrapping their loader in :class:`ThenIncludeTasks`."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> Any:
        if fullname != TASKS_TRIGGER:
            return None
        uninstall(IncludeTasksOnImport)
        from importlib.util import find_spec

        spec = find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = ThenIncludeTasks(spec.loader)
        return spec


def install() -> None:
    """Register the model and include the tasks at once where lm-eval's modules are already imported, else wait for
    their import."""
    if TRIGGER in sys.modules:
        from lm_eval.api.registry import model_registry

        register(model_registry)
    elif not any(isinstance(finder, RegisterOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, RegisterOnImport())
    if TASKS_TRIGGER in sys.modules:
        include_tasks_of(sys.modules[TASKS_TRIGGER])
    elif not any(isinstance(finder, IncludeTasksOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, IncludeTasksOnImport())


def uninstall(kind: type = RegisterOnImport) -> None:
    """Remove the finders of ``kind`` (each acts once)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, kind)]
