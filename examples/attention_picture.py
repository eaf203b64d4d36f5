"""Draw a trained GPT's attention weights on a line of text: one panel per layer and head.

    python examples/char_gpt.py                              # train and save char_gpt.npz first
    python examples/attention_picture.py                     # attention.png
    python examples/attention_picture.py --text "KING LEAR:" --layers 1 4 --out lear.png

Each panel is one head's weights: row i is the character at position i (the query), and the
colour in column j is how much of character j's value it takes (its weights add up to 1; the
causal mask leaves the upper triangle at 0). docs/attention.md shows and reads the picture; it
needs the plot extra (matplotlib).
"""

from __future__ import annotations

import argparse
import os
import sys

from gpt import load_gpt
from plotting import pyplot, save_figure

import tinynet as tn

TEXT = "ROMEO:\nBut, soft! what light through yonder window breaks?"


def attention_weights(path: str, text: str) -> list:
    """Every layer's attention weights (heads, time, time) on `text`, from the model saved at `path`."""
    model, vocabulary = load_gpt(path)
    inputs = []
    for block in model.blocks:  # each attention layer's input, caught on its way in
        block.attention.register_forward_pre_hook(lambda module, args: inputs.append((module, args[0])))
    with tn.no_grad():
        model(vocabulary.encode(text)[None])
    return [module.weights(x)[0] for module, x in inputs]


def draw(weights: list, text: str, layers: list[int], out: str) -> bool:
    """The panels of `layers` (numbered from 1) as a PNG at `out`; False without matplotlib."""
    plt = pyplot()
    if plt is None:
        return False
    heads = len(weights[0])
    labels = [{"\n": "⏎", " ": "␣"}.get(c, c) for c in text]
    fig, axes = plt.subplots(len(layers), heads, figsize=(4.2 * heads, 4.2 * len(layers)), squeeze=False)
    for row, layer in zip(axes, layers):
        for head, axis in enumerate(row):
            axis.imshow(weights[layer - 1][head], cmap="Blues", vmin=0, vmax=1)
            axis.set_title(f"layer {layer}, head {head + 1}", fontsize=10)
            axis.set_xticks(range(len(text)), labels, fontsize=5, family="monospace")
            axis.set_yticks(range(len(text)), labels, fontsize=5, family="monospace")
            axis.tick_params(length=0)
    fig.suptitle("Attention weights on one line of text: row = the character looking, column = the one looked at")
    fig.tight_layout()
    save_figure(fig, out)
    plt.close(fig)
    return True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="char_gpt.npz", help="a model saved by char_gpt.py (--save)")
    parser.add_argument("--text", default=TEXT, help="the text to look at, at most the model's block_size characters")
    parser.add_argument("--layers", type=int, nargs="+", default=None, help="the layers to draw (default: all)")
    parser.add_argument("--out", default="attention.png")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.model):
        parser.error(f"argument --model: {args.model} is not an existing file; train one with char_gpt.py")
    try:
        weights = attention_weights(args.model, args.text)
    except ValueError as error:  # an unknown character, a text longer than the context, not a GPT file
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    layers = args.layers or list(range(1, len(weights) + 1))
    if not all(1 <= layer <= len(weights) for layer in layers):
        parser.error(f"argument --layers: the model has layers 1 to {len(weights)}, got {layers}")
    draw(weights, args.text, layers, args.out)


if __name__ == "__main__":
    main()
