"""help() shows real text for every public class, function and method in tinynet: its own
docstring, or the one of the method it overrides; never a comment above it."""

import importlib
import inspect
import pkgutil

import tinynet


def public_callables():
    for info in pkgutil.walk_packages(tinynet.__path__, "tinynet."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj
                for attribute, value in vars(obj).items():
                    if not attribute.startswith("_") and (inspect.isfunction(value) or isinstance(value, property)):
                        yield f"{module.__name__}.{name}.{attribute}", getattr(obj, attribute)


def test_every_public_callable_has_a_docstring():
    undocumented = [name for name, obj in public_callables() if not inspect.getdoc(obj)]
    assert undocumented == []


def test_there_are_callables_to_check():
    names = {name for name, _ in public_callables()}
    assert {"tinynet.nn.module.Module.flat_values", "tinynet.optim.optimizer.Optimizer.state_like"} <= names
    assert len(names) > 200
