"""L-BFGS: quasi-Newton steps from the last few gradient differences, with a closure."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from tinynet.optim import checks
from tinynet.optim.checks import check_hyperparameter, check_integer
from tinynet.optim.optimizer import Optimizer


class LBFGS(Optimizer):
    """L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989), with torch.optim.LBFGS's semantics.

    `opt.step(grads, params, closure)`: `closure()` recomputes the loss at the current `params`,
    writes the gradient into `grads` (model.zero_grad(); loss.backward() does, for model.grads)
    and returns the loss. One step runs up to `max_iter` iterations of

        d = -H g        H g by the two-loop recursion over the last `history_size` pairs
                        s_i = θ_{i+1} - θ_i, y_i = g_{i+1} - g_i (kept when y·s > 1e-10), and
                        H_0 = (y·s) / (y·y) of the newest pair (d = -g at the very first)
        θ ← θ + τ d     τ = lr (at the very first, lr min(1, 1 / ‖g‖₁)), or found by a line
                        search satisfying the strong Wolfe conditions (line_search_fn="strong_wolfe")

    and stops early when ‖g‖_∞ <= tolerance_grad, when the step or the change of loss is below
    tolerance_change, or after `max_eval` evaluations. It returns the loss before the step.
    The history is state (old_dirs: the y, old_stps: the s), so it goes on from step to step.
    """

    flat_state = False

    def __init__(
        self,
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        super().__init__(check_hyperparameter("learning rate (lr)", lr))
        del self.weight_decay, self.decoupled_weight_decay  # the closure's loss is the whole objective
        self.max_iter = check_integer("max_iter", max_iter, low=1)
        self.max_eval = self.max_iter * 5 // 4 if max_eval is None else check_integer("max_eval", max_eval, low=1)
        self.tolerance_grad = check_hyperparameter("tolerance_grad", tolerance_grad)
        self.tolerance_change = check_hyperparameter("tolerance_change", tolerance_change)
        self.history_size = check_integer("history_size", history_size, low=1)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"invalid line_search_fn: {line_search_fn!r}; it must be None or 'strong_wolfe'")
        self.line_search_fn = line_search_fn

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        """LBFGS has none: a step evaluates the closure several times. Raises a TypeError."""
        raise TypeError(
            "LBFGS has no compute_step: a step evaluates the loss several times; call opt.step(grads, params, closure)"
        )

    def step(self, grads: np.ndarray, params: np.ndarray, closure: Callable | None = None) -> float:
        """Up to max_iter L-BFGS iterations on `params` (in place, a contiguous array); returns
        the loss that the first call of `closure` gave."""
        if closure is None:
            raise TypeError(
                "LBFGS.step needs a closure: opt.step(model.grads, model.params, closure), where closure() "
                "recomputes the loss, runs model.zero_grad() and loss.backward(), and returns the loss"
            )
        checks.check_step_arrays(self, grads, params)
        if not params.flags.c_contiguous:
            raise ValueError("LBFGS.step: params must be a contiguous array (model.params is)")
        if "d" in self.state and self.state["d"].shape != (params.size,):
            raise ValueError(
                f"LBFGS.step: the state was made for {self.state['d'].size} parameters, params has {params.size}: "
                "another model, or other layers frozen; make a new optimizer"
            )
        theta, state = params.reshape(-1), self.state

        def evaluate(at: np.ndarray | None = None) -> tuple[float, np.ndarray]:
            """The loss and a copy of the gradient at params, or at `at` (then params go back)."""
            if at is not None:
                start, theta[...] = theta.copy(), at
                try:
                    return evaluate()
                finally:
                    theta[...] = start
            loss = closure_loss(closure, int(state["func_evals"]))
            state["func_evals"] = np.array(state["func_evals"] + 1.0)
            return loss, grads.reshape(-1).astype(theta.dtype)

        state.setdefault("func_evals", np.array(0.0))
        loss, g = evaluate()
        first_loss, evals = loss, 1
        if np.abs(g).max() <= self.tolerance_grad:
            return first_loss
        for n_iter in range(1, self.max_iter + 1):
            if self.count_step() == 1:
                d, h_diag = -g, 1.0
                history = (np.zeros((0, g.size), g.dtype), np.zeros((0, g.size), g.dtype), np.zeros(0, g.dtype))
            else:
                y, s = g - state["prev_flat_grad"], state["d"] * state["t"]
                history, h_diag = state_history(state), float(state["H_diag"])
                if y @ s > 1e-10:
                    history = remember(history, y, s, self.history_size)
                    h_diag = (y @ s) / (y @ y)
                d = two_loop(-g, *history, h_diag)
            prev_loss = loss
            state.update(prev_flat_grad=g.copy(), H_diag=np.array(h_diag), d=d)
            state.update(old_dirs=history[0], old_stps=history[1], ro=history[2])
            t = min(1.0, 1.0 / np.abs(g).sum()) * self.lr if self.step_count == 1 else self.lr
            state["t"] = np.array(t)
            gtd = g @ d
            if gtd > -self.tolerance_change:
                break
            if self.line_search_fn == "strong_wolfe":
                loss, g, t, used = strong_wolfe(evaluate, theta.copy(), t, d, loss, g, gtd, self.max_eval - evals)
                state["t"] = np.array(t)
                theta += t * d
            else:
                theta += t * d
                used = 0
                if n_iter != self.max_iter:
                    (loss, g), used = evaluate(), 1
            evals += used
            converged = np.abs(g).max() <= self.tolerance_grad
            if n_iter == self.max_iter or evals >= self.max_eval or converged:
                break
            if np.abs(d * t).max() <= self.tolerance_change or abs(loss - prev_loss) < self.tolerance_change:
                break
        return first_loss


def closure_loss(closure: Callable, evaluation: int) -> float:
    """The loss that `closure()` returns, as a float; a TypeError if it returns nothing (or no
    number), a ValueError if the loss is NaN or infinite."""
    value = closure()
    if value is None:
        raise TypeError("LBFGS: the closure returned None; it must return the loss (end it with `return loss`)")
    loss = value.item() if hasattr(value, "item") else value  # a Tensor or numpy scalar
    if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
        raise TypeError(f"LBFGS: the closure returned a {type(value).__name__}; it must return the loss, a number")
    loss = float(loss)
    if not math.isfinite(loss):
        raise ValueError(
            f"LBFGS: the closure returned a non-finite loss ({loss}) at evaluation {evaluation + 1}: the parameters "
            "diverged (try a smaller lr, or line_search_fn='strong_wolfe') or the loss is NaN at these inputs"
        )
    return loss


def state_history(state: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(old_dirs, old_stps, ro): the y_i, the s_i (one per row) and 1 / (y_i · s_i)."""
    return state["old_dirs"], state["old_stps"], state["ro"]


def remember(history: tuple, y: np.ndarray, s: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The history with the pair (y, s) added, the oldest dropped beyond `size` pairs."""
    ys, ss, ro = history
    keep = max(0, len(ys) + 1 - size)
    return np.vstack([ys[keep:], y]), np.vstack([ss[keep:], s]), np.append(ro[keep:], 1.0 / (y @ s))


def two_loop(q: np.ndarray, ys: np.ndarray, ss: np.ndarray, ro: np.ndarray, h_diag: float) -> np.ndarray:
    """H q, for the inverse Hessian approximation H of the pairs (s_i, y_i), starting from h_diag I."""
    q = q.copy()
    alphas = np.zeros(len(ys))
    for i in reversed(range(len(ys))):
        alphas[i] = (ss[i] @ q) * ro[i]
        q -= alphas[i] * ys[i]
    r = q * h_diag
    for i in range(len(ys)):
        beta = (ys[i] @ r) * ro[i]
        r += (alphas[i] - beta) * ss[i]
    return r


def cubic_minimum(
    x1: float, f1: float, g1: float, x2: float, f2: float, g2: float, bounds: tuple[float, float] | None = None
) -> float:
    """The minimizer, within `bounds` (by default [x1, x2] in order), of the cubic through
    (x1, f1) and (x2, f2) with slopes g1 and g2; the middle of the bounds if it has none."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        point = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        point = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(point, low), high)


def strong_wolfe(
    evaluate: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x: np.ndarray,
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    max_evals: int,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
) -> tuple[float, np.ndarray, float, int]:
    """A step τ along d with f(τ) <= f + c1 τ g·d and |g(τ)·d| <= c2 |g·d| (Nocedal & Wright,
    algorithms 3.5 and 3.6, with cubic interpolation), as torch.optim.LBFGS searches: first a
    bracket, by growing τ, then zooming into it. `evaluate(y)` gives (loss, gradient) at y = x + τ d.
    Returns (loss, gradient, τ, evaluations)."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(x + t * d)
    evals, gtd_new = 1, g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    found = False
    while evals - 1 < max_evals:
        if f_new > f + c1 * t * gtd or (evals > 2 and f_new >= f_prev):
            found = True
            break
        if abs(gtd_new) <= -c2 * gtd:
            return f_new, g_new, t, evals
        if gtd_new >= 0:
            found = True
            break
        bounds = (t + 0.01 * (t - t_prev), t * 10)
        t_prev, t = t, cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds)
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate(x + t * d)
        evals, gtd_new = evals + 1, g_new @ d
    if found:
        bracket = [(t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)]
    else:  # out of evaluations
        bracket = [(0.0, f, g, gtd), (t, f_new, g_new, gtd_new)]
    low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
    insufficient_progress, done = False, False
    while not done and evals - 1 < max_evals:
        (t_a, f_a, _, gtd_a), (t_b, f_b, _, gtd_b) = bracket
        if abs(t_b - t_a) * d_norm < tolerance_change:
            break
        t = cubic_minimum(t_a, f_a, gtd_a, t_b, f_b, gtd_b)
        top, bottom = max(t_a, t_b), min(t_a, t_b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too close to an end: move away, unless the last try did not
            if insufficient_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(x + t * d)
        evals, gtd_new = evals + 1, g_new @ d
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = (t, f_new, g_new, gtd_new)
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = (t, f_new, g_new, gtd_new)
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals
