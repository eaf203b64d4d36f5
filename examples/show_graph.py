"""See the computation graph of one training step: printed as a tree, written as Graphviz DOT,
and drawn as a PNG when Graphviz's `dot` program is installed.

    python examples/show_graph.py                  # writes graph.dot (and graph.png)
    python examples/show_graph.py --out /tmp/mlp
"""

from __future__ import annotations

import argparse
import shutil
import subprocess

import numpy as np

import tinynet as tn
from tinynet import functional as F
from tinynet import nn


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="graph", help="path without extension for the .dot and .png files")
    args = parser.parse_args(argv)

    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    loss = F.cross_entropy(model(x), np.array([0, 2, 1, 1, 0]))

    tn.viz.print_graph(loss, model)
    dot_path = f"{args.out}.dot"
    with open(dot_path, "w") as f:
        f.write(tn.viz.to_dot(loss, model))
    print(f"wrote {dot_path}")
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tpng", dot_path, "-o", f"{args.out}.png"], check=True)
        print(f"wrote {args.out}.png")
    else:
        print(
            "Graphviz is not installed, so no PNG: install it (e.g. apt-get install graphviz) and run "
            f"dot -Tpng {dot_path} -o {args.out}.png"
        )
    return dot_path


if __name__ == "__main__":
    main()
