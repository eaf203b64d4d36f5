"""The checks behind the Optimizer base class: hyperparameters, the arrays a step is given, and
saved state. Kept apart so that tinynet/optim/optimizer.py reads as the algorithm's contract."""

from __future__ import annotations

import inspect
import math
import reprlib
import weakref

import numpy as np

from tinynet.gradient_arrays import is_gradient_array

Hyperparameter = float | np.ndarray
PER_ELEMENT = ("lr", "weight_decay")  # the hyperparameters that may be arrays shaped like the parameters


def check_hyperparameter(
    name: str,
    value,
    low: float = 0.0,
    high: float = math.inf,
    open_high: bool = False,
    per_element: bool = False,
) -> Hyperparameter:
    """`value` as a float (or, with `per_element`, a float array too) after checking that it is
    a number, not NaN, with low <= value <= high (or < high when `open_high`)."""
    interval = f"[{low}, {high}{')' if open_high else ']'}"
    kinds = "a number or a float array shaped like the parameters" if per_element else "a number"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.ndarray) and per_element:
        if value.dtype.kind not in "fiu":
            raise TypeError(f"invalid {name}: an array of dtype {value.dtype}; it must be {kinds}")
        numbers = value
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        numbers = value = float(value)
    else:
        shown = reprlib.repr(value)
        raise TypeError(f"invalid {name}: {shown} is a {type(value).__name__}; it must be {kinds} in {interval}")
    above = np.greater_equal(numbers, high) if open_high else np.greater(numbers, high)
    if np.any(np.isnan(numbers)) or np.any(np.less(numbers, low)) or np.any(above):
        shown = value if not isinstance(value, np.ndarray) else _describe(value)
        raise ValueError(f"invalid {name}: {shown}; it must be in {interval}")
    return value if not isinstance(value, np.ndarray) else value.astype(np.result_type(value.dtype, np.float32))


def check_integer(name: str, value, low: int = 0) -> int:
    """`value` as an int after checking that it is an integer (Python or numpy, not a bool)
    with value >= low."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        shown = reprlib.repr(value)
        raise TypeError(f"invalid {name}: {shown} is a {type(value).__name__}; it must be an integer >= {low}")
    if value < low:
        raise ValueError(f"invalid {name}: {value}; it must be an integer >= {low}")
    return int(value)


def check_like(name: str, value, like):
    """`value` checked to be the same kind of value as `like` and converted to it: a bool, an
    integer, a number (not NaN) or array of numbers, a string, None, or a tuple (of the same
    length) or list of these. For loading saved state; raises naming `name`."""
    if isinstance(like, (bool, np.bool_)):
        fits = isinstance(value, (bool, np.bool_))
        converted = bool(value) if fits else None
    elif isinstance(like, (int, np.integer)):
        fits = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        converted = int(value) if fits else None
    elif isinstance(like, (float, np.floating, np.ndarray)):
        return check_hyperparameter(name, value, low=-math.inf, per_element=True)
    elif isinstance(like, (tuple, list)):
        fits = isinstance(value, (tuple, list)) and (isinstance(like, list) or len(value) == len(like))
        templates = [like[min(i, len(like) - 1)] if like else item for i, item in enumerate(value)] if fits else []
        converted = type(like)(check_like(f"{name}[{i}]", v, t) for i, (v, t) in enumerate(zip(value, templates)))
    else:
        fits, converted = value is None if like is None else isinstance(value, type(like)), value
    if not fits:
        raise TypeError(
            f"invalid {name}: {reprlib.repr(value)} is a {type(value).__name__}; expected a {type(like).__name__} "
            f"like {reprlib.repr(like)}"
        )
    return converted


def check_betas(betas) -> tuple[float, float]:
    """The pair (β1, β2), each a number in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"invalid betas: {betas!r}; it must be a pair of numbers (β1, β2) in [0, 1)")
    return tuple(
        check_hyperparameter(f"beta at index {i} of betas", beta, 0.0, 1.0, open_high=True)
        for i, beta in enumerate(betas)
    )


def check_step_arrays(optimizer, grads, params) -> None:
    """Refuse what `optimizer.step(grads, params)` cannot step, naming what was wrong."""
    name = type(optimizer).__name__
    if not isinstance(params, np.ndarray) or not isinstance(grads, np.ndarray):
        raise TypeError(
            f"{name}.step(grads, params) takes numpy arrays (e.g. model.grads, model.params), "
            f"got {type(grads).__name__} and {type(params).__name__}"
        )
    if is_gradient_array(params):
        raise TypeError(
            f"{name}.step: params is a model's gradient array (model.grads): the order is "
            "opt.step(model.grads, model.params)"
        )
    if params.dtype.kind != "f":
        raise TypeError(f"{name}.step: params must be a floating-point array, got dtype {params.dtype}")
    if params.dtype == np.float16:
        raise TypeError(
            f"{name}.step: float16 parameters are not supported: small values such as eps (1e-8) and "
            "squared gradients underflow to 0 in float16, and the updates turn to inf. Keep the parameters "
            "in float32 (model.to(np.float32))"
        )
    if not params.flags.writeable:
        raise ValueError(
            f"{name}.step: params is read-only. If it came from model.params, it is stale: the model's "
            "layout changed (a parameter was frozen, unfrozen or added, or model.to() changed the dtype). "
            "Pass model.params again, to a new optimizer if it had state."
        )
    if grads.shape != params.shape:
        raise ValueError(f"{name}.step: grads has shape {grads.shape} but params has shape {params.shape}")
    if params.size == 0:
        raise ValueError(
            f"{name}.step: params is empty: the model has no trainable parameters (layers kept in a plain "
            "list are not registered: use nn.ModuleList; or every parameter is frozen)"
        )
    for hyperparameter in PER_ELEMENT:
        value = getattr(optimizer, hyperparameter, None)
        if isinstance(value, np.ndarray) and value.shape != params.shape:
            raise ValueError(
                f"{name}.step: {hyperparameter} is an array of shape {value.shape} but params has shape "
                f"{params.shape}; make it with model.flat_values(...) after freezing what you freeze"
            )
    for key, array in optimizer.state.items() if optimizer.flat_state else ():
        if array.ndim and array.shape != params.shape:
            check_state_shape(optimizer, key, params.shape)
    _check_same_array(optimizer, params)


def check_state_shape(optimizer, name: str, shape: tuple[int, ...]) -> None:
    """Refuse state made for parameters of another shape."""
    made_for = optimizer.state[name].shape
    if made_for != shape:
        raise ValueError(
            f"{type(optimizer).__name__}: the optimizer state {name!r} was made for parameters of shape {made_for}, "
            f"got params of shape {shape}. If the model's trainable parameters changed (a layer frozen, "
            "unfrozen or added), or this is another model, make a new optimizer. (An optimizer whose state has "
            "other shapes than the parameters, such as statistics per row, subclasses optim.LayerwiseOptimizer "
            "and makes it with state_for: docs/optimizers.md, Optimizers that see the layers)"
        )


def _check_same_array(optimizer, params: np.ndarray) -> None:
    """State made for one array must not step another (e.g. a model repacked after freezing)."""
    owner = params if params.base is None else params.base
    if not optimizer.state or optimizer._stepped is None:
        try:
            optimizer._stepped = weakref.ref(owner)
        except TypeError:  # memory owned by an object without weak references: nothing to compare
            optimizer._stepped = None
    elif optimizer._stepped() is not owner:
        raise ValueError(
            f"{type(optimizer).__name__}.step: this optimizer's state was made while stepping another params "
            "array. The model was repacked: a parameter was frozen, unfrozen or added, its dtype changed, "
            "or its parameters were packed into another model (one that contains it, or shares a layer "
            "with it: a parameter lives in one packed model at a time, so train through one model). "
            "Or this is another model. Make a new optimizer for the model you step"
        )


def checked_state_dict(optimizer, state_dict: dict, params: np.ndarray | None = None) -> dict:
    """`state_dict` (from `state_dict()` of an optimizer of this class) checked and converted as
    `load_state_dict` loads it; changes nothing. Checked: the class, the names and kinds of the
    hyperparameters, the state arrays (floating point, all of one shape; with `params`, the
    shape and dtype of the parameters that it will step) and the step count. State arrays of any
    shape (`flat_state` False: per parameter, history) must have the shapes of the optimizer's
    own state, if it has some; otherwise they are checked when first used."""
    name = type(optimizer).__name__
    saved = state_dict.get("optimizer") if isinstance(state_dict, dict) else None
    if saved != name:
        raise ValueError(f"this state dict belongs to optimizer {saved!r}, not {name!r}")
    if set(state_dict) != {"optimizer", "hyperparameters", "state", "step_count"}:
        raise ValueError(
            f"{name}.load_state_dict: expected the keys optimizer, hyperparameters, state and step_count "
            f"(as state_dict() gives), got {sorted(state_dict)}"
        )
    current, given = optimizer.hyperparameters(), state_dict["hyperparameters"]
    if not isinstance(given, dict) or set(given) != set(current):
        names = sorted(given) if isinstance(given, dict) else given
        raise ValueError(f"{name}.load_state_dict: expected the hyperparameters {sorted(current)}, got {names}")
    hyperparameters = {k: check_like(k, given[k], like) for k, like in current.items()}
    try:
        inspect.signature(type(optimizer)).bind(**hyperparameters)
    except TypeError:
        pass  # a constructor that does not take them all by name: their kinds are checked above
    else:
        type(optimizer)(**hyperparameters)  # each value checked as the constructor checks it (lr=-1 is refused)
    if not isinstance(state_dict["state"], dict):
        raise TypeError(f"{name}.load_state_dict: state must be a dict, got {type(state_dict['state']).__name__}")
    state = {}
    for key, value in state_dict["state"].items():
        array = np.array(value)
        if array.dtype.kind != "f" or (params is not None and array.ndim and array.dtype != params.dtype):
            expected = "floating point" if params is None else f"{params.dtype}, the parameters' dtype"
            raise TypeError(f"{name}.load_state_dict: the state {key!r} has dtype {array.dtype}; expected {expected}")
        state[key] = array
    if optimizer.state and set(state) != set(optimizer.state):
        raise ValueError(
            f"{name}.load_state_dict: expected the state arrays {sorted(optimizer.state)}, got {sorted(state)}"
        )
    if not optimizer.flat_state:
        for key, array in state.items():
            if key in optimizer.state and array.shape != optimizer.state[key].shape:
                raise ValueError(
                    f"{name}.load_state_dict: the state {key!r} has shape {array.shape}, but this optimizer's "
                    f"has shape {optimizer.state[key].shape}: it was saved for another model, or with other layers "
                    "frozen"
                )
    arrays = {f"the state {k!r}": a for k, a in state.items() if a.ndim and optimizer.flat_state}
    arrays.update((k, v) for k, v in hyperparameters.items() if isinstance(v, np.ndarray) and k in PER_ELEMENT)
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) > 1:
        raise ValueError(f"{name}.load_state_dict: the arrays have different shapes {sorted(shapes)}")
    for what, array in arrays.items():
        if params is not None and array.shape != params.shape:
            raise ValueError(
                f"{name}.load_state_dict: {what} has shape {array.shape}, but the parameters have shape "
                f"{params.shape}: it was saved for another model, or with other layers frozen"
            )
    step_count = check_integer(f"{name}.load_state_dict: step_count", state_dict["step_count"])
    return {"optimizer": name, "hyperparameters": hyperparameters, "state": state, "step_count": step_count}


def refuse_parameter_collection(cls: type, args: tuple, kwargs: dict) -> None:
    """Catch the PyTorch habit `SGD(model.parameters(), lr=0.1)` before Python reports
    'multiple values for argument lr'."""
    given = args[0] if args else kwargs.get("params")
    is_module = callable(getattr(given, "parameters", None))
    is_collection = isinstance(given, (list, tuple, dict)) or hasattr(given, "__next__") or hasattr(given, "grad")
    if "params" in kwargs or is_module or is_collection:
        raise TypeError(
            f"{cls.__name__}() takes hyperparameters only, not the parameters: tinynet optimizers step "
            f"flat arrays. Write opt = optim.{cls.__name__}(lr=...), then after each backward: "
            "opt.step(model.grads, model.params)"
        )


def _describe(values: np.ndarray) -> str:
    nan = int(np.isnan(values).sum())
    return f"an array with {nan} NaN of {values.size}" if nan else f"an array from {values.min()} to {values.max()}"
