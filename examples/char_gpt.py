"""Train a character-level GPT on Shakespeare, then write some Shakespeare of its own.

python examples/char_gpt.py                       # 4 blocks, 128 dimensions, 4 heads, context 64: 2,000 steps
python examples/char_gpt.py --steps 200           # a quick try (saves to char_gpt_quick.npz)
python examples/char_gpt.py --generate 500 --prompt "ROMEO:" --temperature 0.8 --top-k 10
                                                  # sample from the saved model (--save's file)

The model is examples/gpt.py's GPT (docs/attention.md explains attention from the ground up);
the data are the 38 plays shipped in datasets/shakespeare, one token per character, the last
10% of the text held out for validation. Training: random windows of block_size + 1 characters,
AdamW (weight decay on the weight matrices and embeddings only, not on biases and LayerNorms),
a linear warm-up then cosine decay of the learning rate, gradients clipped to norm 1. Every
--eval-interval steps it prints the mean training loss since the last line and the validation
loss on 256 windows spread over the validation text; at the end, the validation loss on all of
it (nats per character, non-overlapping windows of block_size) and a sample of generated text.

--checkpoint run.npz writes a checkpoint at each of those lines, and --resume run.npz, with the
same settings, continues a run to the end it would have reached unstopped. The exit statuses
are those of the MNIST examples (examples/mnist_training.py): 2 for a bad flag, 3 when the
loss becomes NaN or infinite, 130 for Ctrl-C and 143 for SIGTERM, naming the last checkpoint.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time

import numpy as np
from gpt import GPT, GPTConfig, UnknownCharacters, Vocabulary, generate, load_gpt, save_gpt
from mnist_training import (
    EXIT_BAD_FLAG,
    EXIT_NON_FINITE_LOSS,
    NonFiniteLoss,
    check_file_to_write,
    interrupts_deferred,
    quick_name,
    raise_terminated,
    stopped_by,
)
from tqdm import tqdm

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.data import load_shakespeare
from tinynet.optim.lr_scheduler import WarmupCosineLR

SAVE = "char_gpt.npz"
STEPS = 2000
EVAL_WINDOWS = 256  # the validation windows of the loss printed during training
# the flags a resumed run may change: they do not shape the training
NOT_SETTINGS = ("save", "checkpoint", "resume", "quiet", "data", "generate", "prompt", "temperature", "top_k")


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, all checked before the data loads: a bad one exits with status 2, naming it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps (batches)")
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--block-size", type=int, default=64, help="the context: characters per window")
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3, help="the peak learning rate")
    parser.add_argument("--min-lr", type=float, default=1e-4, help="where the cosine decay ends")
    parser.add_argument(
        "--warmup", type=int, default=None, help="steps of linear warm-up (default: 100, or --steps / 10 if fewer)"
    )
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--grad-clip", type=float, default=1.0, help="the largest gradient norm (0: no clipping)")
    parser.add_argument("--eval-interval", type=int, default=250, help="steps between loss lines (and checkpoints)")
    parser.add_argument("--val-size", type=int, default=None, help="use only the first N validation characters")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--save",
        default=None,
        help=f"where to save the trained model ('' to skip), and what --generate reads; by default {SAVE}, or "
        f"{quick_name(SAVE)} for a run of fewer --steps",
    )
    parser.add_argument("--data", default=None, help="folder with shakespeare.txt.gz (default: the usual places)")
    parser.add_argument(
        "--checkpoint", metavar="PATH", help="write a checkpoint at every loss line ({step} in PATH: one file each)"
    )
    parser.add_argument("--resume", metavar="PATH", help="continue the run that wrote this checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (there is none in a log file either)")
    parser.add_argument("--generate", type=int, metavar="N", help="only sample N characters from the saved model")
    parser.add_argument("--prompt", default="\n", help="the text that generation continues (default: a newline)")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: always the likeliest)")
    parser.add_argument("--top-k", type=int, default=None, help="sample among the K likeliest characters only")
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(100, args.steps // 10)
    if args.save is None:
        args.save = SAVE if args.steps >= STEPS or args.generate is not None else quick_name(SAVE)
    check_flags(parser, args)
    return args


def check_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, with parser.error (exit status 2), any flag that would fail later."""
    for flag in ("steps", "batch_size", "block_size", "n_layer", "n_embd", "n_head", "eval_interval", "val_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"argument --{flag.replace('_', '-')}: must be at least 1, got {value}")
    if args.n_embd % args.n_head:
        parser.error(f"argument --n-head: {args.n_head} heads do not divide --n-embd {args.n_embd}")
    for flag in ("lr", "min_lr", "weight_decay", "grad_clip", "temperature"):
        value = getattr(args, flag)
        if not (math.isfinite(value) and value >= 0):
            parser.error(f"argument --{flag.replace('_', '-')}: must be a finite number >= 0, got {value}")
    if not 0 <= args.warmup < args.steps:
        parser.error(f"argument --warmup: must be in [0, --steps), got {args.warmup}")
    if args.top_k is not None and args.top_k < 1:
        parser.error(f"argument --top-k: must be at least 1, got {args.top_k}")
    if args.data is not None and not os.path.isdir(args.data):
        parser.error(f"argument --data: {args.data} is not an existing folder")
    if not args.prompt:
        parser.error("argument --prompt: empty; give at least one character to continue")
    if args.generate is not None:
        if args.generate < 0:
            parser.error(f"argument --generate: must be at least 0, got {args.generate}")
        if not (args.save and os.path.isfile(args.save)):
            parser.error(f"argument --generate: reads the model from --save, and {args.save!r} is not an existing file")
        return
    for flag in ("save", "checkpoint"):
        check_file_to_write(parser, flag, getattr(args, flag))
    if args.save and args.checkpoint and os.path.abspath(args.save) == os.path.abspath(args.checkpoint):
        parser.error("argument --checkpoint: the same file as --save; give each its own file")
    if args.resume:
        check_resume(parser, args)


def check_resume(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--resume names a checkpoint of this example written with the same settings (every flag but
    the file names, --quiet and the sampling flags): a resumed run continues that run."""
    if not os.path.isfile(args.resume):
        parser.error(f"argument --resume: {args.resume} is not an existing file")
    try:
        saved = tn.load_checkpoint(args.resume).get("settings")  # it restores tinynet's generator, which run() reseeds
    except (ValueError, TypeError) as error:
        parser.error(f"argument --resume: {error}")
    if not isinstance(saved, dict):
        parser.error(f"argument --resume: {args.resume} was not written by --checkpoint of char_gpt.py")
    current = settings(args)
    for name in sorted(current.keys() | saved.keys()):
        if saved.get(name) != current.get(name):
            parser.error(
                f"argument --resume: {args.resume} was written by a run with --{name.replace('_', '-')} "
                f"{saved.get(name)}; this run has {current.get(name)}. Resume with the same settings"
            )


def settings(args: argparse.Namespace) -> dict:
    """The flags that shape the training, as a checkpoint stores them."""
    return {name: value for name, value in vars(args).items() if name not in NOT_SETTINGS}


# ---------------------------------------------------------------- data


def random_windows(data: np.ndarray, batch_size: int, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """`batch_size` windows of the token array `data` at random places (drawn from tinynet's
    generator, which checkpoints save): the inputs (batch, block_size) and the targets, each
    input token's successor."""
    starts = tn.random.default_generator().integers(0, len(data) - block_size, size=batch_size)
    windows = data[starts[:, None] + np.arange(block_size + 1)]
    return windows[:, :-1], windows[:, 1:]


@tn.no_grad()
def mean_loss(model: GPT, data: np.ndarray, windows: int | None = None, batch_size: int = 64) -> float:
    """The mean loss per character over non-overlapping windows of block_size + 1 tokens of
    `data` (each predicts its last block_size tokens): all of them, or `windows` of them spread
    evenly over the data."""
    block_size = model.config.block_size
    count = (len(data) - 1) // block_size
    starts = np.arange(count) * block_size
    if windows is not None and windows < count:
        starts = starts[np.linspace(0, count - 1, windows).astype(int)]
    total = 0.0
    for i in range(0, len(starts), batch_size):
        windows_here = data[starts[i : i + batch_size, None] + np.arange(block_size + 1)]
        logits = model(windows_here[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), windows_here[:, 1:].reshape(-1)).item() * len(
            windows_here
        )
    return total / len(starts)


# ---------------------------------------------------------------- training


def make_optimizer(model: nn.Module, args: argparse.Namespace) -> optim.AdamW:
    """AdamW with weight decay on the 2-D parameters (weight matrices, embeddings) only."""
    decay = model.flat_values(lambda name, p: args.weight_decay if p.ndim == 2 else 0.0)
    return optim.AdamW(lr=args.lr, weight_decay=decay)


def train(model: GPT, data: tuple[np.ndarray, np.ndarray], args: argparse.Namespace) -> None:
    """Train for --steps steps (continuing a --resume checkpoint), printing the losses every
    --eval-interval steps and writing a --checkpoint there."""
    train_data, val_data = data
    opt = make_optimizer(model, args)
    schedule = WarmupCosineLR(opt, args.warmup, args.steps, eta_min=args.min_lr)
    step, last = 0, None  # last: (path, step) of the last checkpoint
    if args.resume:
        step = tn.load_checkpoint(args.resume, model=model, optimizer=opt, scheduler=schedule)["step"]
        last = (args.resume, step)
        print(f"resumed from {args.resume} after step {step}", flush=True)
    losses, start = [], time.perf_counter()
    bar = tqdm(total=args.steps, initial=step, disable=True if args.quiet else None, mininterval=0.5, leave=False)
    try:
        while step < args.steps:
            x, y = random_windows(train_data, args.batch_size, args.block_size)
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLoss(f"the training loss became {value} at step {step + 1}")
            model.zero_grad()
            loss.backward()
            if args.grad_clip:
                optim.clip_grad_norm(model.grads, args.grad_clip)
            opt.step(model.grads, model.params)
            schedule.step()
            step += 1
            losses.append(value)
            bar.update()
            if step % args.eval_interval == 0 or step == args.steps:
                val_loss = mean_loss(model, val_data, EVAL_WINDOWS)
                if args.checkpoint:
                    path = args.checkpoint.replace("{step}", str(step))
                    with interrupts_deferred():  # on disk before the line is printed
                        tn.save_checkpoint(path, model, opt, schedule, step=step, settings=settings(args))
                        last = (path, step)
                seconds = time.perf_counter() - start
                bar.clear()
                print(
                    f"step {step:5d}  train loss {np.mean(losses):.4f}  validation loss {val_loss:.4f}  "
                    f"lr {opt.lr:.2e}  {seconds:.1f} s",
                    flush=True,
                )
                losses = []
    except KeyboardInterrupt as error:
        if last:
            where = f"the last checkpoint is {last[0]} (after step {last[1]}): continue with --resume {last[0]}"
        else:
            where = "no checkpoint was written" + ("" if args.checkpoint else " (--checkpoint PATH writes them)")
        stopped = stopped_by(error)
        raise stopped(f"{stopped.how} at step {step}; {where}") from None
    finally:
        bar.close()


def exit_bad_flag(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_BAD_FLAG)


# ---------------------------------------------------------------- sampling


def sample_text(model: GPT, vocabulary: Vocabulary, args: argparse.Namespace, length: int) -> str:
    """`length` characters generated after --prompt, with --temperature and --top-k."""
    prompt = vocabulary.encode(args.prompt)[None]
    tokens = generate(model, prompt, length, temperature=args.temperature, top_k=args.top_k)
    return vocabulary.decode(tokens[0])


def run(args: argparse.Namespace) -> float | None:
    """Train (or, with --generate, sample from the saved model) as `args` say; returns the final
    validation loss (None with --generate)."""
    tn.manual_seed(args.seed)
    if args.generate is not None:
        try:
            model, vocabulary = load_gpt(args.save)
            print(sample_text(model, vocabulary, args, args.generate))
        except (UnknownCharacters, ValueError, TypeError) as error:
            exit_bad_flag(f"{error}")
        return None
    train_text, val_text = load_shakespeare(args.data)
    vocabulary = Vocabulary.from_text(train_text + val_text)
    try:
        vocabulary.encode(args.prompt)
    except UnknownCharacters as error:
        exit_bad_flag(f"argument --prompt: {error}")
    config = GPTConfig(len(vocabulary), args.block_size, args.n_layer, args.n_embd, args.n_head)
    model = GPT(config)
    val_data = vocabulary.encode(val_text[: args.val_size])
    if len(val_data) <= config.block_size:
        exit_bad_flag(f"argument --val-size: {len(val_data)} characters; the validation needs more than --block-size")
    train(model, (vocabulary.encode(train_text), val_data), args)
    val_loss = mean_loss(model, val_data)
    if args.save:
        save_gpt(args.save, model, vocabulary)
        print(f"saved the model to {args.save}")
    print("sample:", sample_text(model, vocabulary, args, 300), sep="\n")
    print(f"validation loss: {val_loss:.4f}")
    return val_loss


def main(argv=None) -> float | None:
    """Parse the flags and run; exit statuses as in the module's docstring."""
    args = parse_args(argv)
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        return run(args)
    except NonFiniteLoss as error:
        kept = f" ({args.checkpoint} left as it was)" if args.checkpoint else ""
        print(
            f"error: {error}. Training stopped without saving{kept}: try a smaller --lr than {args.lr}", file=sys.stderr
        )
        raise SystemExit(EXIT_NON_FINITE_LOSS) from None
    except KeyboardInterrupt as error:
        stopped = stopped_by(error)
        print(str(error) or stopped.how, file=sys.stderr)
        raise SystemExit(stopped.exit_status) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    tn.memory.keep_freed_memory()  # a long training loop: reuse freed memory (docs/performance.md)
    main()
