"""Learning-rate schedules with PyTorch's semantics: each changes `optimizer.lr`.

    scheduler = StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        train_one_epoch(...)       # opt.step(...) inside
        scheduler.step()           # once per epoch (or per batch, for OneCycleLR)

Constructing a scheduler sets the lr for step 0; `get_last_lr()` returns it as a one-element
list, like PyTorch's (one parameter group).
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from tinynet.optim.checks import check_hyperparameter, check_integer, check_like
from tinynet.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses write `lr_at(epoch)`, the lr after `epoch` calls of step()."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs a tinynet Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, epoch: int) -> float:
        """The learning rate after `epoch` calls of step(); every schedule defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define lr_at(epoch)")

    def step(self) -> None:
        """Advance the schedule by one epoch (or batch) and set the optimizer's lr."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The current lr in a one-element list, like PyTorch's (one parameter group)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        """The schedule's settings and position (not the optimizer), for resuming."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def check_state_dict(self, state: dict) -> dict:
        """`state` checked and converted as `load_state_dict` loads it: the same names as this
        scheduler's `state_dict()`, each value of the same kind (see optim.optimizer.check_like).
        Raises naming what is wrong; changes nothing."""
        name, current = type(self).__name__, self.state_dict()
        if not isinstance(state, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict (from state_dict()), got {type(state).__name__}")
        if set(state) != set(current):
            missing, unexpected = sorted(set(current) - set(state)), sorted(set(state) - set(current), key=str)
            raise ValueError(
                f"{name}.load_state_dict: not the state of a {name}: missing {missing}, unexpected {unexpected}"
            )
        return {key: check_like(f"{name} {key}", state[key], like) for key, like in current.items()}

    def load_state_dict(self, state: dict) -> None:
        """Resume from `state_dict()`, checked first (see `check_state_dict`)."""
        vars(self).update(self.check_state_dict(state))


class StepLR(LRScheduler):
    """lr = base_lr · γ^⌊epoch / step_size⌋"""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = check_integer("StepLR step_size", step_size, 1)
        self.gamma = check_hyperparameter("StepLR gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base_lr · γ^(number of milestones reached)"""

    def __init__(self, optimizer: Optimizer, milestones: list[int], gamma: float = 0.1, last_epoch: int = -1):
        if not isinstance(milestones, (list, tuple)):
            raise TypeError(f"invalid MultiStepLR milestones: {milestones!r}; it must be a list of integers")
        self.milestones = sorted(check_integer(f"MultiStepLR milestones[{i}]", m) for i, m in enumerate(milestones))
        self.gamma = check_hyperparameter("MultiStepLR gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """lr = base_lr · γ^epoch"""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = check_hyperparameter("ExponentialLR gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (base_lr - η_min) (1 + cos(π epoch / T_max)) / 2"""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = check_integer("CosineAnnealingLR T_max", T_max, 1)
        self.eta_min = check_hyperparameter("CosineAnnealingLR eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class WarmupCosineLR(LRScheduler):
    """Linear warm-up, then cosine decay (nanoGPT's schedule), stepped once per batch:

    lr = base_lr (t + 1) / (warmup_steps + 1)                                   t < warmup_steps
    lr = η_min + (base_lr - η_min) (1 + cos(π (t - warmup_steps) / (total_steps - warmup_steps))) / 2
                                                                     warmup_steps <= t <= total_steps
    lr = η_min                                                                  t > total_steps
    """

    def __init__(
        self, optimizer: Optimizer, warmup_steps: int, total_steps: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        self.warmup_steps = check_integer("WarmupCosineLR warmup_steps", warmup_steps)
        self.total_steps = check_integer("WarmupCosineLR total_steps", total_steps, self.warmup_steps + 1)
        self.eta_min = check_hyperparameter("WarmupCosineLR eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        if epoch < self.warmup_steps:
            return self.base_lr * (epoch + 1) / (self.warmup_steps + 1)
        progress = min(1.0, (epoch - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2


class LinearLR(LRScheduler):
    """Warm-up: the factor goes linearly from start_factor to end_factor over total_iters steps.

    lr = base_lr · (start + (end - start) · min(epoch, total_iters) / total_iters)"""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        self.start_factor = check_hyperparameter("LinearLR start_factor", start_factor, 0.0, 1.0)
        self.end_factor = check_hyperparameter("LinearLR end_factor", end_factor, 0.0, 1.0)
        if self.start_factor == 0:
            raise ValueError("invalid LinearLR start_factor: 0.0; it must be in (0, 1]")
        self.total_iters = check_integer("LinearLR total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters if self.total_iters else 1.0
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per batch.

    The lr rises from max_lr / div_factor to max_lr over the first pct_start of total_steps,
    then falls to max_lr / (div_factor · final_div_factor), annealed by cosine (or linearly).
    With cycle_momentum, the optimizer's momentum (or β1) moves the opposite way, between
    max_momentum and base_momentum.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            total_steps = check_integer("OneCycleLR epochs", epochs, 1) * check_integer(
                "OneCycleLR steps_per_epoch", steps_per_epoch, 1
            )
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = check_integer("OneCycleLR total_steps", total_steps, 1)
        self.anneal_strategy = anneal_strategy
        max_lr = check_hyperparameter("OneCycleLR max_lr", max_lr, per_element=True)
        pct_start = check_hyperparameter("OneCycleLR pct_start", pct_start, 0.0, 1.0)
        base_momentum = check_hyperparameter("OneCycleLR base_momentum", base_momentum, 0.0, 1.0)
        max_momentum = check_hyperparameter("OneCycleLR max_momentum", max_momentum, 0.0, 1.0)
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if check_hyperparameter(f"OneCycleLR {name}", value) == 0:
                raise ValueError(f"invalid OneCycleLR {name}: 0; it must be positive")
        initial_lr = max_lr / div_factor
        min_lr = initial_lr / final_div_factor
        warm_end = float(pct_start * total_steps) - 1
        if three_phase:  # (end step, (lr from, to), (momentum from, to))
            self.phases = [
                (warm_end, (initial_lr, max_lr), (max_momentum, base_momentum)),
                (float(2 * pct_start * total_steps) - 2, (max_lr, initial_lr), (base_momentum, max_momentum)),
                (total_steps - 1, (initial_lr, min_lr), (max_momentum, max_momentum)),
            ]
        else:
            self.phases = [
                (warm_end, (initial_lr, max_lr), (max_momentum, base_momentum)),
                (total_steps - 1, (max_lr, min_lr), (base_momentum, max_momentum)),
            ]
        self.cycle_momentum = cycle_momentum and (hasattr(optimizer, "momentum") or hasattr(optimizer, "betas"))
        optimizer.lr = initial_lr
        super().__init__(optimizer, last_epoch)

    def anneal(self, start: float, end: float, pct: float) -> float:
        """The value `pct` of the way from start to end, by cosine or linearly (anneal_strategy)."""
        if self.anneal_strategy == "linear":
            return (end - start) * pct + start
        return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)

    def _phase_values(self, step: int) -> tuple[float, float]:
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, past total_steps={self.total_steps}")
        start = 0.0
        for i, (end, lrs, momenta) in enumerate(self.phases):
            if step <= end or i == len(self.phases) - 1:
                pct = (step - start) / (end - start)
                return self.anneal(*lrs, pct), self.anneal(*momenta, pct)
            start = end
        raise AssertionError("unreachable")

    def lr_at(self, epoch: int) -> float:
        lr, momentum = self._phase_values(epoch)
        if self.cycle_momentum:
            if hasattr(self.optimizer, "betas"):
                self.optimizer.betas = (momentum, *self.optimizer.betas[1:])
            else:
                self.optimizer.momentum = momentum
        return lr


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when a metric has stopped improving for `patience` epochs.

    `step(metric)` once per epoch. In mode 'min' an improvement is metric < best · (1 - threshold)
    (threshold_mode 'rel') or metric < best - threshold ('abs'); 'max' mirrors it. After a
    reduction, `cooldown` epochs pass before counting again. The lr never goes below min_lr,
    and a change smaller than eps is skipped.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau needs a tinynet Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError("ReduceLROnPlateau: mode must be 'min' or 'max', threshold_mode 'rel' or 'abs'")
        self.optimizer = optimizer  # no base_lr, and no step at construction: it waits for a metric
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_hyperparameter("ReduceLROnPlateau factor", factor, 0.0, 1.0, open_high=True)
        self.patience = check_integer("ReduceLROnPlateau patience", patience)
        self.threshold = check_hyperparameter("ReduceLROnPlateau threshold", threshold)
        self.cooldown = check_integer("ReduceLROnPlateau cooldown", cooldown)
        self.min_lr = check_hyperparameter("ReduceLROnPlateau min_lr", min_lr, per_element=True)
        self.eps = check_hyperparameter("ReduceLROnPlateau eps", eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, metric: float, best: float) -> bool:
        """Whether `metric` improves on `best` by more than the threshold."""
        if self.mode == "min":
            return metric < (best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return metric > (best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metric: float) -> None:
        """Record this epoch's metric and reduce the lr after `patience` epochs without improvement."""
        metric = check_hyperparameter("ReduceLROnPlateau.step metric", metric, low=-math.inf)
        self.last_epoch += 1
        if self.is_better(metric, self.best):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = np.maximum(self.optimizer.lr * self.factor, self.min_lr)  # per element, for array lrs
            if np.max(self.optimizer.lr - new_lr) > self.eps:
                self.optimizer.lr = new_lr if np.ndim(new_lr) else float(new_lr)
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
