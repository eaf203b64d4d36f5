"""Step through a backward pass one op at a time, and through the classic ways of getting it wrong.

    stepper = tn.viz.BackwardStepper(loss)          # nothing runs yet; the graph is kept
    for step in stepper:                            # one op per step, in the order backward() runs them
        print(step)                                 # the gradient that arrived, the rule, what each input got
    stepper                                         # in Jupyter: previous/next buttons, a slider, the graph drawn

`mode` picks the backward pass to walk: the engine's ("correct"), or one of the classic bugs, whose
wrong numbers each step shows beside the right ones (see MODES). The stepper calls each op's own
backward from the recorded graph, as backward(retain_graph=True) would, so the graph stays usable;
as the steps go by, the leaves' `.grad` fill in as that backward pass would fill them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tinynet import viz
from tinynet.autograd import topological_order
from tinynet.tensor import Tensor

MODES = {
    "correct": "the engine's backward: the ops in reversed topological order, so each runs once every op "
    "that used its result has sent it a gradient",
    "naive_recursive": "a depth-first recursion from the loss that runs each op the first time it is reached, "
    "with the gradient that has arrived by then; what arrives later is lost (wrong where a result is used twice)",
    "wrong_order": "the ops in the order the forward pass made them (the topological order, not reversed): "
    "each op runs before its gradient has arrived",
    "no_zero_grad": "two backward passes (two training steps on the same batch) without zero_grad() between "
    "them: the leaves' .grad add up across the passes",
}
"""The modes of BackwardStepper and the backward pass each walks."""


@dataclass
class Step:
    """One op's turn in the backward pass: `node` (the op's result Tensor), `arrived` (the
    gradient that had arrived at it, None when none had), `correct` (the gradient that the
    engine's backward has arrive there, all of its consumers' contributions summed),
    `consumers_heard` of `consumers` (how many uses of the result had sent a gradient), `rule`
    and `sent`, one (input Tensor, gradient or None) per input. `number` counts from 1 over the
    whole walk, `pass_number` from 1 (mode "no_zero_grad" makes two passes). `text` is how it
    prints."""

    number: int
    pass_number: int
    node: Tensor
    arrived: np.ndarray | None
    correct: np.ndarray | None
    consumers_heard: int
    consumers: int
    rule: str
    sent: list[tuple[Tensor, np.ndarray | None]]
    text: str

    def __str__(self) -> str:
        return self.text


class BackwardStepper:
    """The backward pass of `loss` (a one-element Tensor), one op per step; see the module's
    docstring and MODES. `model`, if given, names the parameters (as in tn.viz.print_graph);
    `names`, a dict such as {"x": x, "w": w}, names other leaves.

    `len(stepper)` steps; `stepper[k]` is step k (from 0); iterating yields them in order and,
    before yielding each, sets the `.grad` of every leaf that needs one to what it holds after
    that step, starting from what it held when the stepper was made (backward() adds to it).
    `goto(n)` sets them after the first n steps (0: as they were); `position` is that n.
    `str(stepper)` is every step and the leaves' gradients beside the right ones; `show(n)`
    prints the graph after n steps; `draw(n)` draws it (matplotlib); in Jupyter the stepper
    shows as a widget. Hooks registered on tensors (`register_hook`) do not run in the walk."""

    def __init__(self, loss: Tensor, mode: str = "correct", *, model=None, names: dict | None = None) -> None:
        viz._check("BackwardStepper", loss, model)
        names = {} if names is None else names
        if not (
            isinstance(names, dict) and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in names.items())
        ):
            raise TypeError(
                "BackwardStepper: names must be a dict of leaf tensors by name, e.g. names={'x': x, 'w': w}"
            )
        if mode not in MODES:
            raise ValueError(f"BackwardStepper: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
        if not loss.requires_grad:
            raise RuntimeError(
                "BackwardStepper: the loss does not require a gradient, so there is no backward pass to step "
                "through: none of its inputs had requires_grad=True (or it was computed under no_grad())"
            )
        if loss.size != 1:
            raise ValueError(
                f"BackwardStepper: the loss must be one number (backward() starts it with the gradient 1), "
                f"got a tensor of shape {loss.shape}; reduce it first, e.g. loss.sum()"
            )
        self.loss, self.mode = loss, mode
        self.nodes = topological_order(loss)
        self.numbers = viz._backward_numbers(loss)
        self.names = viz._parameter_names(model) | {id(tensor): name for name, tensor in names.items()}
        # The graph as it is now, for the pictures and texts: a later backward() may free it.
        self.inputs = {id(node): node._parents for node in self.nodes}
        self.labels = {id(node): viz._label(node, self.numbers, self.names)[0] for node in self.nodes}
        self.leaves = sorted(
            (node for node in self.nodes if not node._parents and node.requires_grad), key=lambda n: self.numbers[id(n)]
        )
        self.start = {id(leaf): None if leaf.grad is None else np.array(leaf.grad) for leaf in self.leaves}
        self.consumers = _consumers(self.nodes)
        # The counterfactual walk first, the engine's last: an op with several results files their
        # gradients between calls, and the engine's walk leaves that filing as backward() would.
        self.steps, self.after = [], [self.start]
        self.position = 0  # the leaves' .grad hold what they hold after this many steps
        self._walk(self._schedule(mode), record=True)
        correct_arrived, self.correct_leaves = self._walk([self._ops_in_engine_order()], record=False)
        for step in self.steps:
            step.correct = correct_arrived[id(step.node)]
            step.text = self._describe(step)

    # ---------------------------------------------------------------- walking the graph

    def _ops_in_engine_order(self) -> list[Tensor]:
        return [node for node in reversed(self.nodes) if node._parents]

    def _schedule(self, mode: str) -> list[list[Tensor]]:
        """The ops in the order the mode runs them, one list per backward pass."""
        if mode == "wrong_order":
            return [[node for node in self.nodes if node._parents]]
        if mode == "no_zero_grad":
            return [self._ops_in_engine_order()] * 2
        if mode == "naive_recursive":
            order, reached, stack = [], set(), [self.loss]
            while stack:  # the recursion `visit(node): run it; for each input: if not reached, visit(input)`
                node = stack.pop()
                if id(node) in reached or not node._parents:
                    continue
                reached.add(id(node))
                order.append(node)
                stack.extend(reversed(node._parents))
            return [order]
        return [self._ops_in_engine_order()]

    def _walk(self, passes: list[list[Tensor]], record: bool) -> tuple[dict, dict]:
        """Run the ops' backward in the order of `passes`, starting each pass at the loss with 1.
        Returns the gradient that arrived at each op (by id, the last pass) and the leaves' final
        gradients; with `record`, appends each Step and the leaves' gradients after it."""
        leaves = dict(self.start)
        arrived_at: dict[int, np.ndarray | None] = {}
        for pass_number, ops in enumerate(passes, start=1):
            pending = {id(self.loss): np.ones_like(self.loss.data)}
            heard = {id(self.loss): 1}
            for node in ops:
                g = pending.pop(id(node), None)
                arrived_at[id(node)] = g
                sent = self._run(node, g, pending, heard, leaves)
                if record:
                    self._record(pass_number, node, g, heard.get(id(node), 0), sent)
                    self.after.append(dict(leaves))
        return arrived_at, leaves

    @staticmethod
    def _run(node: Tensor, g, pending: dict, heard: dict, leaves: dict) -> list:
        """Call the op's backward with `g` (nothing when g is None) and hand on what it sends:
        into `leaves` for a leaf, into `pending` for an op."""
        if g is None:
            return [None] * len(node._parents)
        sent = list(node._backward(g, *[parent.data for parent in node._parents], node.data))
        for parent, parent_grad in zip(node._parents, sent):
            if parent_grad is None or not parent.requires_grad:
                continue
            key = id(parent)
            heard[key] = heard.get(key, 0) + 1
            if parent._parents:
                pending[key] = parent_grad if key not in pending else pending[key] + parent_grad
            else:
                total = parent_grad if leaves[key] is None else leaves[key] + parent_grad
                leaves[key] = np.asarray(total, dtype=parent.dtype)
        return [grad if parent.requires_grad else None for parent, grad in zip(node._parents, sent)]

    def _record(self, pass_number: int, node: Tensor, g, heard: int, sent: list) -> None:
        _, rule = viz._rule(node._op)
        consumers = self.consumers[id(node)]
        self.steps.append(Step(len(self.steps) + 1, pass_number, node, g, None, heard, consumers, rule, sent, ""))

    def _describe(self, step: Step) -> str:
        """The text of a step: which op, the gradient that arrived (and the right one, where they
        differ), the rule, and what went to each input."""
        inputs, _ = viz._rule(step.node._op)
        passes = f" (pass {step.pass_number})" if self.mode == "no_zero_grad" else ""
        if step.node is self.loss:
            source = "(the loss: backward starts it at 1)"
        else:
            source = f"(from {step.consumers_heard} of {step.consumers} uses of the result)"
        lines = [
            f"step {step.number} of {len(self)}{passes}: {self._label(step.node)}",
            f"   g arrived     {_shown(step.arrived)}   {source}",
        ]
        if not _same(step.arrived, step.correct):
            lines.append(f"   correct g     {_shown(step.correct)}   <- the g above is wrong")
        lines.append(f"   rule          {step.rule}")
        for i, (parent, parent_grad) in enumerate(zip(self.inputs[id(step.node)], step.sent)):
            name = inputs[i] if i < len(inputs) else f"input {i}"
            lines.append(f"   to {name} ({self._label(parent)}): {_shown(parent_grad)}")
        return "\n".join(lines)

    def _label(self, node: Tensor) -> str:
        return self.labels[id(node)]

    # ---------------------------------------------------------------- what the user sees

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, k: int) -> Step:
        return self.steps[k]

    def __iter__(self) -> Iterator[Step]:
        for k in range(len(self)):
            self.goto(k + 1)
            yield self[k]

    def goto(self, n: int) -> None:
        """Set the leaves' `.grad` to what they hold after the first `n` steps (0: before any)."""
        if not (isinstance(n, int) and 0 <= n <= len(self)):
            raise ValueError(f"BackwardStepper.goto: n must be a whole number from 0 to {len(self)}, got {n!r}")
        for leaf in self.leaves:
            grad = self.after[n][id(leaf)]
            leaf.grad = None if grad is None else grad.copy()
        self.position = n

    def leaf_table(self, n: int | None = None) -> str:
        """Each leaf's `.grad` after `n` steps (all by default) beside what backward() gives it."""
        n = len(self) if n is None else n
        lines = [f"leaves (.grad after step {n} of {len(self)}, and after a correct backward()):"]
        for leaf in self.leaves:
            walked, right = self.after[n][id(leaf)], self.correct_leaves[id(leaf)]
            mark = "" if _same(walked, right) or n < len(self) else "   <- wrong"
            lines.append(f"   {self._label(leaf)}: {_shown(walked)}   correct: {_shown(right)}{mark}")
        return "\n".join(lines)

    def state(self, n: int) -> str:
        """The graph after `n` steps as text: each node, whether its op has run, and its numbers."""
        ran = {id(self.steps[k].node): self.steps[k] for k in range(n)}
        upcoming = self.steps[n].node if n < len(self) else None
        lines = [f"after step {n} of {len(self)} ({self.mode}):"]
        for node in reversed(self.nodes):
            if not self.inputs[id(node)]:
                grad = self.after[n].get(id(node))
                what = f".grad {_shown(grad)}" if node.requires_grad else "needs no gradient"
            elif node is upcoming:
                what = "next"
            elif id(node) in ran:
                what = f"ran with g {_shown(ran[id(node)].arrived)}"
            else:
                what = "waiting"
            lines.append(f"   {self._label(node):<24} {what}")
        return "\n".join(lines)

    def show(self, n: int | None = None) -> None:
        """Print the graph after `n` steps (all by default) and step n itself."""
        n = len(self) if n is None else n
        self.goto(n)
        print(self.state(n))
        if n:
            print(self[n - 1])

    def __str__(self) -> str:
        header = f"BackwardStepper, mode {self.mode!r}: {MODES[self.mode]}"
        return "\n".join([header, *map(str, self.steps), self.leaf_table()])

    def draw(self, n: int, ax=None):
        """Draw the graph after `n` steps with matplotlib: the inputs on the left, the loss on the
        right; ops that have run in green with the gradient that arrived, the next one in orange,
        leaves with their `.grad`. Returns the figure."""
        import matplotlib.pyplot as plt

        depth = _depths(self.nodes, self.inputs)
        columns: dict[int, list[Tensor]] = {}
        for node in reversed(self.nodes):
            columns.setdefault(depth[id(node)], []).append(node)
        widest = max(map(len, columns.values()))
        if ax is None:
            _, ax = plt.subplots(figsize=(2.4 * len(columns) + 1, 1.3 * widest + 1))
        where = {}
        for column, nodes in columns.items():
            for row, node in enumerate(nodes):
                where[id(node)] = (-column, (len(nodes) - 1) / 2 - row)
        for node in self.nodes:
            for parent in self.inputs[id(node)]:
                (x0, y0), (x1, y1) = where[id(parent)], where[id(node)]
                bend = 0.4 if x1 - x0 > 1 else 0.0  # an edge that skips a column goes round the ones between
                arrow = {"arrowstyle": "->", "color": "0.6", "connectionstyle": f"arc3,rad={bend}"}
                ax.annotate("", (x1 - 0.3, y1), (x0 + 0.3, y0), arrowprops=arrow)
        ran = {id(self.steps[k].node): self.steps[k] for k in range(n)}
        upcoming = self.steps[n].node if n < len(self) else None
        for node in self.nodes:
            label, colour = self._label(node), "white"
            if not self.inputs[id(node)]:
                grad = self.after[n].get(id(node))
                colour = "#cfe2f3" if node.requires_grad else "0.92"
                label += f"\ndata {_shown(node.data)}"
                label += f"\n.grad {_shown(grad)}" if node.requires_grad else ""
            elif node is upcoming:
                colour = "#ffd699"
            elif id(node) in ran:
                colour = "#cfe8cf"
                label += f"\ng {_shown(ran[id(node)].arrived)}"
            ax.text(*where[id(node)], label, ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "round", "facecolor": colour, "edgecolor": "0.4"})  # fmt: skip
        ax.set_xlim(-max(columns) - 0.7, 0.7)
        ax.set_ylim(-widest / 2 - 0.2, widest / 2 + 0.2)
        ax.set_axis_off()
        ax.set_title(f"{self.mode}: after step {n} of {len(self)}", fontsize=10)
        return ax.figure

    def widget(self):
        """An ipywidgets view: previous and next buttons and a slider over the steps (starting at
        `position`, where the leaves' `.grad` are), the graph drawn after the chosen step, that
        step's text and the leaves' gradients."""
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import display

        slider = widgets.IntSlider(value=self.position, min=0, max=len(self), description="step")
        previous, following = widgets.Button(description="◀ previous"), widgets.Button(description="next ▶")
        view = widgets.Output()

        def render(_=None) -> None:
            with view:
                view.clear_output(wait=True)
                figure = self.draw(slider.value)
                display(figure)
                plt.close(figure)
                self.show(slider.value)
                print(self.leaf_table(slider.value))

        def move(by: int) -> None:
            slider.value = min(max(slider.value + by, 0), len(self))

        previous.on_click(lambda _: move(-1))
        following.on_click(lambda _: move(1))
        slider.observe(render, names="value")
        render()
        return widgets.VBox([widgets.HBox([previous, slider, following]), view])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())


def _consumers(nodes: list[Tensor]) -> dict[int, int]:
    """For each node, how many times an op of the graph uses it as an input."""
    uses = {id(node): 0 for node in nodes}
    for node in nodes:
        for parent in node._parents:
            uses[id(parent)] += 1
    return uses


def _depths(nodes: list[Tensor], inputs: dict[int, tuple[Tensor, ...]]) -> dict[int, int]:
    """Each node's longest distance from the root (the last of `nodes`, in topological order)."""
    depth = {id(nodes[-1]): 0}
    for node in reversed(nodes):
        for parent in inputs[id(node)]:
            depth[id(parent)] = max(depth.get(id(parent), 0), depth[id(node)] + 1)
    return depth


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-12, atol=0))


def _shown(values) -> str:
    return "nothing" if values is None else viz._numbers(values)
