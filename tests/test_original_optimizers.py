"""The original five, exactly: each original optimizer, with and without weight decay, is one tinynet call.

The project's original design, written below as it was stated: a base class whose `step` adds
`weight_decay * params` to the decrement (not scaled by lr), and five subclasses with lr = 0.1
by default. The eps values are assumptions (the design names none): 1e-8 in Adagrad, RMSProp
and Adam, passed to tinynet explicitly, since tinynet's Adagrad defaults to PyTorch's 1e-10.
Each mapping in docs/optimizers.md ("The original five, exactly") is checked over 60 steps on
random float64 gradients and parameters; the wrong mappings at the end show that the check can fail.

Run with -s to see the largest difference of every case (each test prints its own).
"""

import numpy as np
import pytest

from tinynet import optim
from tinynet.optim.lr_scheduler import CosineAnnealingLR

STEPS = 60
TOLERANCE = 1e-12
LR, MU, ALPHA, BETAS, EPS, LAM = 0.1, 0.9, 0.9, (0.9, 0.999), 1e-8, 0.01


# ---- the original design
class Original:
    def __init__(self, lr=0.1, weight_decay=0.0):
        self.lr, self.weight_decay = lr, weight_decay

    def step(self, grads, params):
        decrement = self.compute_step(grads)
        decrement += self.weight_decay * params
        params -= decrement


class OriginalSGD(Original):
    def compute_step(self, g):
        return self.lr * g


class OriginalSGDm(Original):
    def __init__(self, lr=0.1, momentum=0.9, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.momentum, self.beta = momentum, 0.0

    def compute_step(self, g):
        self.beta = self.momentum * self.beta + (1 - self.momentum) * g
        return self.lr * self.beta


class OriginalAdagrad(Original):
    def __init__(self, lr=0.1, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.eps, self.s = eps, 0.0

    def compute_step(self, g):
        self.s = self.s + g**2
        return self.lr * g / (np.sqrt(self.s) + self.eps)


class OriginalRMSProp(Original):
    def __init__(self, lr=0.1, alpha=0.9, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.alpha, self.eps, self.s = alpha, eps, 0.0

    def compute_step(self, g):
        self.s = self.alpha * self.s + (1 - self.alpha) * g**2
        return self.lr * g / (np.sqrt(self.s) + self.eps)


class OriginalAdam(Original):
    def __init__(self, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.betas, self.eps, self.m, self.v, self.t = betas, eps, 0.0, 0.0, 0

    def compute_step(self, g):
        beta1, beta2 = self.betas
        self.t += 1
        self.m = beta1 * self.m + (1 - beta1) * g
        self.v = beta2 * self.v + (1 - beta2) * g**2
        m_hat = self.m / (1 - beta1**self.t)
        v_hat = self.v / (1 - beta2**self.t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# ---- the table: (original, the tinynet call that reproduces it), as in docs/optimizers.md
def decoupled(lam, lr):
    """The original decay λ·θ, unscaled, as tinynet's decoupled decay lr·weight_decay·θ."""
    return {"weight_decay": lam / lr, "decoupled_weight_decay": True}


CASES = {
    "SGD": (lambda: OriginalSGD(LR), lambda: optim.SGD(lr=LR)),
    "SGD+decay": (
        lambda: OriginalSGD(LR, weight_decay=LAM),
        lambda: optim.SGD(lr=LR, **decoupled(LAM, LR)),
    ),
    "SGDm": (lambda: OriginalSGDm(LR, MU), lambda: optim.SGD(lr=LR * (1 - MU), momentum=MU)),
    "SGDm+decay": (
        lambda: OriginalSGDm(LR, MU, weight_decay=LAM),
        lambda: optim.SGD(lr=LR * (1 - MU), momentum=MU, **decoupled(LAM, LR * (1 - MU))),
    ),
    "Adagrad": (lambda: OriginalAdagrad(LR, EPS), lambda: optim.Adagrad(lr=LR, eps=EPS)),
    "Adagrad+decay": (
        lambda: OriginalAdagrad(LR, EPS, weight_decay=LAM),
        lambda: optim.Adagrad(lr=LR, eps=EPS, **decoupled(LAM, LR)),
    ),
    "RMSProp": (lambda: OriginalRMSProp(LR, ALPHA, EPS), lambda: optim.RMSProp(lr=LR, alpha=ALPHA, eps=EPS)),
    "RMSProp+decay": (
        lambda: OriginalRMSProp(LR, ALPHA, EPS, weight_decay=LAM),
        lambda: optim.RMSProp(lr=LR, alpha=ALPHA, eps=EPS, **decoupled(LAM, LR)),
    ),
    "Adam": (lambda: OriginalAdam(LR, BETAS, EPS), lambda: optim.Adam(lr=LR, betas=BETAS, eps=EPS)),
    "Adam+decay": (
        lambda: OriginalAdam(LR, BETAS, EPS, weight_decay=LAM),
        lambda: optim.Adam(lr=LR, betas=BETAS, eps=EPS, **decoupled(LAM, LR)),
    ),
}

WRONG = {  # mappings that look plausible and are not: the check must see them fail
    "SGDm as dampening=mu": (
        lambda: OriginalSGDm(LR, MU),
        lambda: optim.SGD(lr=LR, momentum=MU, dampening=MU),
    ),
    "decay not divided by lr": (
        lambda: OriginalSGD(LR, weight_decay=LAM),
        lambda: optim.SGD(lr=LR, weight_decay=LAM, decoupled_weight_decay=True),
    ),
    "decay coupled (L2)": (
        lambda: OriginalAdam(LR, BETAS, EPS, weight_decay=LAM),
        lambda: optim.Adam(lr=LR, betas=BETAS, eps=EPS, weight_decay=LAM / LR),
    ),
    "Adagrad with tinynet's default eps": (  # 1e-10 instead of 1e-8: a small difference, still caught
        lambda: OriginalAdagrad(LR, EPS),
        lambda: optim.Adagrad(lr=LR),
    ),
}



def largest_difference(make_original, make_tinynet, size=1000, seed=0, schedule=None):
    """Step both on the same random float64 gradients from the same random float64 parameters;
    the largest absolute difference between their parameters over all steps."""
    rng = np.random.default_rng(seed)
    theirs = rng.standard_normal(size)
    ours = theirs.copy()
    original, tinynet = make_original(), make_tinynet()
    worst = 0.0
    for step in range(STEPS):
        grads = rng.standard_normal(size) * rng.uniform(0.1, 10)  # gradients of changing scale
        original.step(grads, theirs)
        tinynet.step(grads, ours)
        assert ours.dtype == np.float64
        worst = max(worst, float(np.max(np.abs(ours - theirs))))
        if schedule is not None:
            schedule(step, original, tinynet)
    return worst


@pytest.mark.parametrize("case", list(CASES))
def test_the_tinynet_call_reproduces_the_original(case, record_property):
    difference = largest_difference(*CASES[case])
    print(f"\n{case}: largest |tinynet - original| {difference:.3e}")
    record_property("max_abs_difference", difference)
    assert difference <= TOLERANCE, f"{case}: max abs difference {difference:.3g} over {STEPS} steps"


@pytest.mark.parametrize("case", list(WRONG))
def test_a_wrong_mapping_is_caught(case):
    difference = largest_difference(*WRONG[case])
    print(f"\n(wrong) {case}: largest |tinynet - original| {difference:.3e}")
    assert difference > TOLERANCE, f"{case}: the check did not see a wrong mapping ({difference:.3g})"


def test_the_cases_are_distinct():
    """Every case changes the parameters, and the decay changes them differently: no mapping holds vacuously."""
    for name in ("SGD", "SGDm", "Adagrad", "RMSProp", "Adam"):
        plain, decayed = CASES[name][0](), CASES[f"{name}+decay"][0]()
        start = np.random.default_rng(1).standard_normal(10)
        a, b = start.copy(), start.copy()
        grads = np.random.default_rng(2).standard_normal(10)
        plain.step(grads, a)
        decayed.step(grads, b)
        assert np.max(np.abs(a - start)) > 1e-3 and np.max(np.abs(a - b)) > 1e-4, name


def test_under_a_schedule_weight_decay_must_follow_lr():
    """A scheduler scales tinynet's decoupled decay with lr; the original's does not move. Setting
    weight_decay = λ / lr after every scheduler step keeps the original exactly; not doing it does not."""
    lr = LR * (1 - MU)

    def run(follow):
        state = {}

        def make_tinynet():
            state["opt"] = opt = optim.SGD(lr=lr, momentum=MU, **decoupled(LAM, lr))
            state["schedule"] = CosineAnnealingLR(opt, T_max=STEPS, eta_min=1e-4)
            return opt

        def schedule(step, original, tinynet):
            state["schedule"].step()
            original.lr = tinynet.lr / (1 - MU)  # the original with the same schedule
            if follow:
                tinynet.weight_decay = LAM / tinynet.lr

        return largest_difference(lambda: OriginalSGDm(LR, MU, weight_decay=LAM), make_tinynet, schedule=schedule)

    following, not_following = run(follow=True), run(follow=False)
    print(f"\ncosine schedule: {following:.3e} with weight_decay = λ / lr, {not_following:.3e} with it fixed")
    assert following <= TOLERANCE, following
    assert not_following > 1e-3, not_following
