"""See inside the engine: one backward pass traced op by op, then the graph with its values and
gradients, printed as a tree, written as Graphviz DOT, and drawn as a PNG when Graphviz's `dot`
program is installed. Nodes are numbered in the order the backward pass visits them.

    python examples/show_graph.py                                      # a small MLP: graph.dot (and graph.png)
    python examples/show_graph.py --out /tmp/mlp                       # /tmp/mlp.dot (and /tmp/mlp.png)
    python examples/show_graph.py --graph backprop --out /tmp/backprop # the network of docs/backprop.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

import numpy as np

import tinynet as tn
from tinynet import functional as F
from tinynet import nn
from tinynet.checkpoint import atomic_write


def mlp_loss() -> tuple[tn.Tensor, nn.Module]:
    """The cross-entropy loss of a small MLP on 5 random samples, and the MLP (to name its parameters)."""
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    return F.cross_entropy(model(x), np.array([0, 2, 1, 1, 0])), model


def backprop_loss() -> tuple[tn.Tensor, None]:
    """The loss of the two-unit network worked through by hand in docs/backprop.md (no model:
    its tensors are plain leaves)."""
    x = tn.Tensor(np.array([[1.0, 2.0]]))
    W1 = tn.Tensor(np.array([[0.5, -1.0], [1.5, 0.25]]), requires_grad=True)
    b1 = tn.Tensor(np.array([0.1, -0.2]), requires_grad=True)
    w2 = tn.Tensor(np.array([[1.0, -2.0]]), requires_grad=True)
    b2 = tn.Tensor(np.array([0.5]), requires_grad=True)
    return (((x @ W1.T + b1).relu() @ w2.T + b2 - 3.0) ** 2).sum(), None


GRAPHS = {"mlp": mlp_loss, "backprop": backprop_loss}


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graph", choices=sorted(GRAPHS), default="mlp", help="which graph to show (default: mlp)")
    parser.add_argument("--out", default="graph", help="path without extension for the .dot and .png files")
    args = parser.parse_args(argv)
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        parser.error(f"--out {args.out}: the folder {folder} does not exist")

    loss, model = GRAPHS[args.graph]()
    tn.viz.trace_backward(loss, model=model, retain_graph=True)  # keep the graph, to show it below
    print()
    tn.viz.print_graph(loss, show_data=True, show_grad=True, model=model)
    dot_path = f"{args.out}.dot"
    dot_text = tn.viz.to_dot(loss, show_data=True, show_grad=True, model=model)
    atomic_write(dot_path, lambda f: f.write(dot_text.encode()))
    print(f"\nwrote {dot_path}")
    if shutil.which("dot"):
        png = subprocess.run(["dot", "-Tpng", dot_path], capture_output=True, check=True).stdout
        atomic_write(f"{args.out}.png", lambda f: f.write(png))
        print(f"wrote {args.out}.png")
    else:
        print(
            "Graphviz is not installed, so no PNG: install it (e.g. apt-get install graphviz) and run "
            f"dot -Tpng {dot_path} -o {args.out}.png"
        )
    return dot_path


if __name__ == "__main__":
    main()
