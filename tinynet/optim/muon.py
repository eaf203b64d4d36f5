"""Muon: momentum, orthogonalized matrix by matrix; a fallback optimizer for the other parameters."""

from __future__ import annotations

import math

import numpy as np

from tinynet.optim.adam import AdamW
from tinynet.optim.checks import check_hyperparameter, check_integer
from tinynet.optim.layerwise import LayerwiseOptimizer
from tinynet.optim.layout import Layout
from tinynet.optim.optimizer import Optimizer

ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def adjust_lr(lr: float, adjust_lr_fn: str | None, shape: tuple[int, int]) -> float:
    """lr scaled for a matrix of `shape` = (rows, cols): by √max(1, rows / cols) (None or
    "original": Keller Jordan's), or by 0.2 √max(rows, cols) ("match_rms_adamw": Moonshot's,
    the root mean square of AdamW's steps)."""
    rows, cols = shape
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr * math.sqrt(max(1, rows / cols))


def orthogonalize(matrix: np.ndarray, coefficients: tuple[float, float, float], steps: int, eps: float) -> np.ndarray:
    """Newton–Schulz: X ← a X + (b X Xᵀ + c (X Xᵀ)²) X, `steps` times, from X = M / max(‖M‖, ε)
    (transposed when tall): about U Vᵀ for M = U S Vᵀ, singular values pushed towards 1. In the
    dtype of `matrix` (PyTorch runs it in bfloat16, which numpy lacks)."""
    a, b, c = coefficients
    tall = matrix.shape[0] > matrix.shape[1]
    x = matrix.T if tall else matrix
    x = x / max(np.linalg.norm(x), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


class Muon(LayerwiseOptimizer):
    """Muon (Keller Jordan et al., 2024), with torch.optim.Muon's semantics, on each 2-D parameter W:

        B_t = μ B_{t-1} + (1 - μ) G_t                    (momentum_buffer, from 0)
        M_t = (1 - μ) G_t + μ B_t  (nesterov)   or   B_t
        O_t = NS(M_t)                                    (Newton–Schulz: about U Vᵀ for M_t = U S Vᵀ)
        W_t = W_{t-1} - lr λ W_{t-1} - lr √max(1, rows / cols) O_t

    (adjust_lr_fn="match_rms_adamw" scales by 0.2 √max(rows, cols) instead). The other
    parameters (biases, norms, and the 2-D ones named in `fallback_names`, such as embeddings)
    are stepped by `fallback`, AdamW() by default, on an array of their own; its state is saved
    with Muon's. Make it with `layout=model.layout()`; without one an array is one parameter,
    and must be 2-D. The Newton–Schulz iteration runs in the parameters' dtype.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.7750, 2.0315),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
        fallback: Optimizer | None = None,
        fallback_names: list[str] | tuple[str, ...] = (),
        layout: Layout | None = None,
    ):
        super().__init__(lr, weight_decay, layout)
        self.momentum = check_hyperparameter("momentum", momentum)
        self.nesterov = bool(nesterov)
        if not isinstance(ns_coefficients, (tuple, list)) or len(ns_coefficients) != 3:
            raise ValueError(f"invalid ns_coefficients: {ns_coefficients!r}; it must be three numbers (a, b, c)")
        self.ns_coefficients = tuple(check_hyperparameter("ns_coefficients", c, low=-math.inf) for c in ns_coefficients)
        self.eps = check_hyperparameter("eps", eps)
        self.ns_steps = check_integer("ns_steps", ns_steps)
        if self.ns_steps >= 100:
            raise ValueError(f"invalid ns_steps: {ns_steps}; it must be < 100 (5 is usual)")
        if adjust_lr_fn not in ADJUST_LR_FNS:
            raise ValueError(f"invalid adjust_lr_fn: {adjust_lr_fn!r}; use None, 'original' or 'match_rms_adamw'")
        self.adjust_lr_fn = adjust_lr_fn
        if fallback is not None and not isinstance(fallback, Optimizer):
            raise TypeError(f"Muon: fallback must be an optimizer such as optim.AdamW(), got {type(fallback).__name__}")
        self._fallback = AdamW() if fallback is None else fallback
        self.fallback_names = list(fallback_names)
        self._fallback_params: np.ndarray | None = None  # the array the fallback steps, kept for its state
        if layout is not None:
            self.split(layout)

    @property
    def fallback(self) -> Optimizer:
        """The optimizer of the parameters that Muon does not step."""
        return self._fallback

    def split(self, layout: Layout) -> tuple[list, np.ndarray]:
        """The layout entries that Muon steps (2-D, not named in fallback_names), and the flat
        indices of the other parameters' elements, which the fallback steps."""
        matrices = [e for e in layout if len(e.shape) == 2 and e.name not in self.fallback_names]
        if not matrices:
            shapes = ", ".join(f"{e.name} {e.shape}" for e in layout)
            raise ValueError(
                f"Muon: no 2-D parameter to step ({shapes}; fallback_names {list(self.fallback_names)}). Muon "
                "orthogonalizes weight matrices: make it with layout=model.layout(), or use another optimizer"
            )
        others = [np.arange(e.slice.start, e.slice.stop) for e in layout if e not in matrices]
        return matrices, np.concatenate(others) if others else np.zeros(0, dtype=np.intp)

    def compute_step(self, grads: np.ndarray, params: np.ndarray) -> np.ndarray:
        matrices, others = self.split(self.layout_of(grads))
        decrement = self.scratch(grads)
        for entry in matrices:
            g, w, d = entry.view(grads), entry.view(params), entry.view(decrement)
            buffer = self.state_for(entry, "momentum_buffer", g)
            buffer += (1 - self.momentum) * (g - buffer)
            update = (1 - self.momentum) * g + self.momentum * buffer if self.nesterov else buffer
            orthogonal = orthogonalize(update, self.ns_coefficients, self.ns_steps, self.eps)
            d[...] = self.lr * self.weight_decay * w + adjust_lr(self.lr, self.adjust_lr_fn, entry.shape) * orthogonal
        if others.size:
            before = params.reshape(-1)[others]
            decrement.reshape(-1)[others] = before - self.fallback_stepped(grads.reshape(-1)[others], before)
        return decrement

    def fallback_stepped(self, grads: np.ndarray, params: np.ndarray) -> np.ndarray:
        """The other parameters after the fallback's step, taken on an array kept from step to
        step (the fallback's state follows one array)."""
        stepped = self._fallback_params
        if stepped is None or stepped.shape != params.shape or stepped.dtype != params.dtype:
            stepped = self._fallback_params = np.empty_like(params)
        stepped[...] = params
        self.fallback.step(grads, stepped)
        return stepped

    # ---- saving and resuming: the fallback's state dict goes with Muon's
    def state_dict(self) -> dict:
        """Muon's state dict, with the fallback's under "fallback"."""
        return {**super().state_dict(), "fallback": self.fallback.state_dict()}

    def check_state_dict(self, state_dict: dict, params: np.ndarray | None = None) -> dict:
        """`state_dict` checked as `load_state_dict` would load it, the fallback's part too."""
        if not isinstance(state_dict, dict) or "fallback" not in state_dict:
            raise ValueError("Muon.load_state_dict: expected the key fallback (as Muon.state_dict() gives)")
        own = {key: value for key, value in state_dict.items() if key != "fallback"}
        fallback = self.fallback.check_state_dict(state_dict["fallback"])
        return {**super().check_state_dict(own, params), "fallback": fallback}

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume Muon and its fallback from `state_dict()`; all is checked before anything changes."""
        super().load_state_dict(state_dict)
        self.fallback.load_state_dict(state_dict["fallback"])
