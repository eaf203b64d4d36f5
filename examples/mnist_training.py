"""What the MNIST examples share: the optimizers by name, the flags (all checked before any data
is loaded), the training loop with its progress bar, checkpoints and resuming, evaluation, saving
and loading, export to ONNX (--export, docs/onnx.md), and data-parallel training on MPI
(--distributed, docs/distributed.md). Each example supplies its model.

Exit status: 0 when done; 2 for a bad flag (with a usage line, or for a --resume or --eval file
that does not fit the model, with an error line); 3 when the loss becomes NaN or infinite
(training stops at once and saves nothing, so the last good model and checkpoint files stay as
they were); 130 when interrupted by Ctrl-C and 143 by SIGTERM (what `timeout`, SLURM and
Kubernetes send): the message names the last checkpoint. A checkpoint is on disk before its
epoch's line is printed, and one being written when the signal comes is finished first.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import math
import os
import re
import signal
import sys
import tempfile
import time

import numpy as np
from plotting import plot_training_curves
from tqdm import tqdm

import tinynet as tn
from tinynet import distributed as dist
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.checkpoint import TRAINING_MARK, npz_entry_names
from tinynet.data import DataLoader, TensorDataset, load_mnist
from tinynet.optim.lr_scheduler import CosineAnnealingLR

EXIT_NON_FINITE_LOSS = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a job stopped by Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BAD_FLAG = 2  # as argparse exits
# the flags a resumed run may change: they do not shape the training
NOT_SETTINGS = (
    "save", "checkpoint", "resume", "plot", "quiet", "eval", "data", "diagnose", "report", "distributed", "export"
)  # fmt: skip

OPTIMIZERS = {
    "sgd": optim.SGD,
    "sgdm": optim.SGDm,
    "adagrad": optim.Adagrad,
    "rmsprop": optim.RMSProp,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "adadelta": optim.Adadelta,
    "adamax": optim.Adamax,
    "nadam": optim.NAdam,
    "radam": optim.RAdam,
    "lion": optim.Lion,
    "asgd": optim.ASGD,
    "muon": optim.Muon,
    "adafactor": optim.Adafactor,
    "lamb": optim.LAMB,
}  # not Rprop and LBFGS: they need the full batch (Rprop reads the gradient's sign, LBFGS its curvature)


def make_optimizer(name: str, lr: float, model: nn.Module) -> optim.Optimizer:
    """The optimizer `name` with learning rate `lr`; one that sees the layers (Muon, Adafactor,
    LAMB) gets the model's layout."""
    kind = OPTIMIZERS[name]
    return kind(lr=lr, layout=model.layout()) if "layout" in inspect.signature(kind).parameters else kind(lr=lr)


@tn.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The class the model picks for each image, in evaluation mode."""
    model.eval()
    predictions = [model(images[i : i + batch_size]).data.argmax(axis=1) for i in range(0, len(images), batch_size)]
    model.train()
    return np.concatenate(predictions)


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of the images that the model classifies as their labels."""
    return tn.metrics.accuracy(predict(model, images), labels)


def classification_report(predictions: np.ndarray, labels: np.ndarray) -> str:
    """Each class's precision, recall, F1 and support (its number of images), their means over
    the classes, and the confusion matrix (rows: the true class, columns: the predicted one)."""
    matrix = tn.metrics.confusion_matrix(predictions, labels)
    per_class = zip(*tn.metrics.precision_recall_f1(predictions, labels), matrix.sum(axis=1))
    lines = [f"{'class':>5} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"]
    lines += [f"{c:>5} {p:>9.4f} {r:>9.4f} {f1:>9.4f} {n:>8}" for c, (p, r, f1, n) in enumerate(per_class)]
    p, r, f1 = tn.metrics.precision_recall_f1(predictions, labels, average="macro")
    lines.append(f"{'mean':>5} {p:>9.4f} {r:>9.4f} {f1:>9.4f} {len(labels):>8}")
    lines.append("confusion matrix (rows: true class, columns: predicted class)")
    lines.append("     " + "".join(f"{c:>6}" for c in range(len(matrix))))
    lines += [f"{c:>5}" + "".join(f"{n:>6}" for n in row) for c, row in enumerate(matrix)]
    return "\n".join(lines)


class NonFiniteLoss(ArithmeticError):
    """The training loss became NaN or infinite: training stopped before stepping on it."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C; raised by `train` with a message that names the last checkpoint to resume from."""

    how, exit_status = "interrupted", EXIT_INTERRUPTED


class Terminated(Interrupted):
    """SIGTERM, raised wherever the program is, as Ctrl-C raises KeyboardInterrupt (see `run`)."""

    how, exit_status = "terminated (SIGTERM)", EXIT_TERMINATED


def stopped_by(error: KeyboardInterrupt) -> type[Interrupted]:
    """Terminated for SIGTERM, else Interrupted (Ctrl-C)."""
    return Terminated if isinstance(error, Terminated) else Interrupted


class FlagError(Exception):
    """A flag whose file does not fit the model (found once the model is made, before the data loads)."""


DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C and SIGTERM wait until the block is done, then act: a file being written is finished."""
    received = []
    deferred = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in deferred.items():
            signal.signal(sig, handler)
    if received:
        raise Terminated() if received[0] == signal.SIGTERM else KeyboardInterrupt()


def train_epoch(
    model, opt, loader, epoch: int, epochs: int, quiet: bool = False, diagnostics=None, distributed: bool = False
) -> float:
    """One pass over the training data; returns the mean training loss. Raises NonFiniteLoss at
    the first step whose loss is NaN or infinite, before that step changes the model. The
    progress bar is off when `quiet`, or when stderr is not a terminal (a log file, a pipe).
    `diagnostics` (a tn.diagnostics.TrainingDiagnostics), if given, measures every step.

    `distributed`: this process is one of several ranks, each with its share of every batch
    (the loader's); the gradients, and the loss, are averaged over the ranks before the step,
    so every rank takes the same step (and stops together on a NaN)."""
    total_loss, correct, seen = 0.0, 0, 0
    disable = True if quiet else None  # None: tqdm turns itself off when stderr is not a terminal
    bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=disable, mininterval=0.5)
    for step, (x, y) in enumerate(bar, 1):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        value = loss.item()
        if distributed:
            value = dist.all_reduce(np.array([value]), op="mean").item()
        if not math.isfinite(value):
            raise NonFiniteLoss(f"the training loss became {value} at epoch {epoch}, step {step} of {len(loader)}")
        model.zero_grad()
        loss.backward()
        if distributed:
            dist.all_reduce(model.grads, op="mean")
        with diagnostics.step() if diagnostics else contextlib.nullcontext():
            opt.step(model.grads, model.params)
        total_loss += value * len(y)
        correct += int((logits.data.argmax(axis=1) == y).sum())
        seen += len(y)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", refresh=False)
    return total_loss / seen


def parse_args(argv, description: str, epochs: int, lr: float, save: str, add_flags=None) -> argparse.Namespace:
    """The flags every MNIST example shares; `add_flags(parser)` adds an example's own. Every flag
    is checked here, before any data is loaded: a bad one exits with status 2 and a message naming it."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if add_flags:
        add_flags(parser)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--save",
        default=None,
        help=f"where to save the trained model ('' to skip); by default {save}, or {quick_name(save)} for a run "
        "shortened by --train-size or fewer --epochs, so that a quick try never overwrites the full model",
    )
    parser.add_argument("--data", default=None, help="folder with the MNIST files (default: the usual places)")
    parser.add_argument("--eval", metavar="PATH", help="only report the test accuracy of a saved model")
    add_export_flag(parser, "the trained model (with --eval, the saved one)")
    parser.add_argument("--train-size", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--plot", metavar="PNG", help="write the training curves to this PNG (needs matplotlib)")
    parser.add_argument(
        "--checkpoint", metavar="PATH", help="write a checkpoint after every epoch ({epoch} in PATH: one file each)"
    )
    parser.add_argument("--resume", metavar="PATH", help="continue the run that wrote this checkpoint to --epochs")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (there are none in a log file either)")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="after every epoch, print gradient norms, update/weight ratios and dead ReLUs (docs/diagnostics.md)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="at the end, print each class's precision, recall and F1 and the confusion matrix on the test set",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="train as one of the ranks of `mpirun -n N`, --batch-size split across them (docs/distributed.md)",
    )
    args = parser.parse_args(argv)
    if args.save is None:
        args.save = quick_name(save) if args.train_size is not None or args.epochs < epochs else save
    check_flags(parser, args)
    return args


def quick_name(save: str) -> str:
    """The file a shortened run saves to by default: mnist_mlp.npz -> mnist_mlp_quick.npz."""
    stem, extension = os.path.splitext(save)
    return f"{stem}_quick{extension}"


def check_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, with parser.error (exit status 2), any flag that would fail later or silently do
    something else: sizes below 1, a learning rate that is not a positive finite number, a file
    to write in a folder that does not exist or is not writable, a missing --data, --eval or
    --resume, an --export without the onnx package, and a --resume checkpoint written with other
    settings."""
    for flag in ("epochs", "batch_size", "train_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"argument --{flag.replace('_', '-')}: must be at least 1, got {value}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        parser.error(f"argument --lr: must be a positive finite number, got {args.lr}")
    if args.data is not None and not os.path.isdir(args.data):
        parser.error(f"argument --data: {args.data} is not an existing folder")
    if args.distributed:
        check_distributed(parser, args)
    check_export(parser, args.export, args.save)
    if args.eval:
        if not os.path.isfile(args.eval):
            parser.error(f"argument --eval: {args.eval} is not an existing file")
        return
    for flag in ("save", "checkpoint", "plot"):
        check_file_to_write(parser, flag, getattr(args, flag))
    if args.save and args.checkpoint:
        epoch = checkpoint_epoch_of(args.checkpoint, args.save, args.epochs)
        if epoch == 0:
            parser.error("argument --checkpoint: the same file as --save; give each its own file")
        if epoch:
            parser.error(
                f"argument --save: {args.save} is where --checkpoint {args.checkpoint} writes epoch {epoch}'s "
                "checkpoint; give the model file another name"
            )
    if args.resume:
        check_resume(parser, args)


def checkpoint_epoch_of(template: str, path: str, epochs: int) -> int | None:
    """The epoch (1 to `epochs`) whose checkpoint, `template` with {epoch} replaced, is the file
    `path`; 0 when `template` has no {epoch} and is `path`; else None."""
    where = os.path.realpath(path)
    template = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(template))), os.path.basename(template))
    if "{epoch}" not in template:
        return 0 if template == where else None
    first, *rest = (re.escape(part) for part in template.split("{epoch}"))
    pattern = first + "(?P<epoch>[1-9][0-9]*)" + "(?P=epoch)".join(rest)  # every {epoch} the same number
    match = re.fullmatch(pattern, where)
    return int(match["epoch"]) if match and int(match["epoch"]) <= epochs else None


def check_file_to_write(parser: argparse.ArgumentParser, flag: str, path: str | None) -> None:
    """The file of --flag (if given) can be written: its folder exists and is writable, and it is not a folder."""
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        parser.error(f"argument --{flag}: the folder {folder} does not exist")
    if os.path.isdir(path):
        parser.error(f"argument --{flag}: {path} is a folder; give a file name")
    try:
        tempfile.TemporaryFile(dir=folder).close()  # the one sure test that a file can be written there
    except OSError as error:
        parser.error(f"argument --{flag}: cannot write in the folder {folder} ({error.strerror})")


def add_export_flag(parser: argparse.ArgumentParser, what: str) -> None:
    """The flag --export ONNX, which writes `what` as an ONNX file (checked by check_export)."""
    parser.add_argument(
        "--export", metavar="ONNX", help=f"write {what} as an ONNX file (needs the onnx extra, docs/onnx.md)"
    )


def check_export(parser: argparse.ArgumentParser, path: str | None, save: str | None = None) -> None:
    """--export names a file that can be written, other than --save's, and the onnx package is there."""
    if not path:
        return
    check_file_to_write(parser, "export", path)
    if save and os.path.abspath(save) == os.path.abspath(path):
        parser.error("argument --export: the same file as --save; give each its own file")
    if importlib.util.find_spec("onnx") is None:
        parser.error('argument --export: needs the onnx package: python -m pip install -e ".[onnx]"')


def export_onnx(model: nn.Module, example: np.ndarray, path: str) -> None:
    """Write the model as an ONNX file, for any batch size (`example`: a batch of its input)."""
    tn.onnx.export(model, example, path)
    print(f"exported the model to {path} (ONNX)")


def check_distributed(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--distributed needs mpi4py, and a --batch-size that the ranks can split evenly."""
    try:
        ranks = dist.get_world_size()
    except ImportError as error:
        parser.error(f"argument --distributed: {error}")
    if args.batch_size % ranks:
        parser.error(
            f"argument --batch-size: {args.batch_size} images per step cannot be split evenly across {ranks} ranks; "
            f"give a multiple of {ranks}"
        )


def check_resume(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--resume names a readable checkpoint written by a run with the same settings (every flag
    but the file names and --quiet): a resumed run continues that run, it cannot change it."""
    if not os.path.isfile(args.resume):
        parser.error(f"argument --resume: {args.resume} is not an existing file")
    try:
        extra = tn.load_checkpoint(args.resume)  # it restores tinynet's generator too, which run() reseeds
    except (ValueError, TypeError) as error:
        parser.error(f"argument --resume: {error}")
    saved = extra.get("settings")
    if not isinstance(saved, dict) or "epoch" not in extra:
        parser.error(f"argument --resume: {args.resume} was not written by --checkpoint of these examples")
    current = settings(args)
    for name in sorted(current.keys() | saved.keys()):
        default = 1 if name == "ranks" else None  # a run without --distributed is one rank
        if saved.get(name, default) != current.get(name, default):
            if name == "ranks":
                was, now = (f"{n} rank{'s' * (n > 1)}" for n in (saved.get(name, 1), current.get(name, 1)))
                parser.error(f"argument --resume: {args.resume} was written by {was}; this run has {now}")
            parser.error(
                f"argument --resume: {args.resume} was written by a run with --{name.replace('_', '-')} "
                f"{saved.get(name)}; this run has {current.get(name)}. Resume with the same settings"
            )


def settings(args: argparse.Namespace) -> dict:
    """The flags that shape the training (all but file names and --quiet), as a checkpoint stores
    them, and with --distributed the number of ranks (each rank's share of the data depends on it)."""
    values = {name: value for name, value in vars(args).items() if name not in NOT_SETTINGS}
    return {**values, "ranks": dist.get_world_size()} if args.distributed else values


def train(
    model,
    opt,
    data,
    epochs: int,
    batch_size: int = 128,
    seed: int = 0,
    quiet: bool = False,
    checkpoint: str | None = None,
    resume: str | None = None,
    run_settings: dict | None = None,
    diagnostics: tn.diagnostics.TrainingDiagnostics | None = None,
    distributed: bool = False,
) -> dict:
    """Train with cosine learning-rate decay, printing a line per epoch; returns the history:
    {"train_loss": [...], "test_accuracy": [...], "seconds": [...]}, one entry per epoch.
    With `diagnostics`, its table of the epoch follows each epoch's line.

    With `checkpoint`, writes a checkpoint there after every epoch (with `run_settings` in it),
    before the epoch's line, and finishes it even when Ctrl-C or SIGTERM comes during the write;
    with `resume`, first restores the checkpoint there and continues from the epoch after it,
    ending exactly as the run that wrote it would have. Ctrl-C raises Interrupted (SIGTERM,
    when `run` has made it raise Terminated, Terminated), whose message names the last
    checkpoint; a NaN or infinite loss raises NonFiniteLoss.

    With `distributed`, this process is one of the ranks that mpirun started: the model starts
    from rank 0's parameters, each rank trains on its share of every batch of `batch_size`
    images (see train_epoch), and only rank 0 evaluates and writes checkpoints; every rank
    resumes from the same checkpoint."""
    x_train, y_train, x_test, y_test = data
    schedule = CosineAnnealingLR(opt, T_max=epochs)
    rank, ranks = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    loader = DataLoader(
        TensorDataset(x_train, y_train), batch_size // ranks, shuffle=True, seed=seed, rank=rank, world_size=ranks
    )
    if distributed:
        dist.broadcast(model.params, src=0)
    history = {"train_loss": [], "test_accuracy": [], "seconds": []}
    last = None  # (path, epoch) of the last checkpoint
    if resume:
        saved = tn.load_checkpoint(resume, model=model, optimizer=opt, scheduler=schedule, loader=loader)
        history, last = saved["history"], (resume, saved["epoch"])
        print(f"resumed from {resume} after epoch {saved['epoch']}", flush=True)
    first = epoch = last[1] + 1 if last else 1
    try:
        for epoch in range(first, epochs + 1):
            start = time.perf_counter()
            train_loss = train_epoch(model, opt, loader, epoch, epochs, quiet, diagnostics, distributed)
            seconds = time.perf_counter() - start
            schedule.step()
            test_accuracy = accuracy(model, x_test, y_test) if rank == 0 else math.nan
            for key, value in zip(history, (train_loss, test_accuracy, seconds)):
                history[key].append(value)
            if checkpoint and rank == 0:
                path = checkpoint.replace("{epoch}", str(epoch))
                with interrupts_deferred():  # on disk before the epoch is reported
                    tn.save_checkpoint(
                        path, model, opt, schedule, loader, epoch=epoch, history=history, settings=run_settings or {}
                    )
                    last = (path, epoch)
            print(
                f"epoch {epoch:2d}  train loss {train_loss:.4f}  test accuracy {test_accuracy:.4f}  {seconds:.2f} s",
                flush=True,
            )
            if diagnostics:
                print(diagnostics.table(), flush=True)
                diagnostics.reset()
    except KeyboardInterrupt as error:
        if last:
            where = f"the last checkpoint is {last[0]} (after epoch {last[1]}): continue with --resume {last[0]}"
        else:
            where = "no checkpoint was written" + ("" if checkpoint else " (--checkpoint PATH writes one per epoch)")
        stopped = stopped_by(error)
        raise stopped(f"{stopped.how} during epoch {epoch}; {where}") from None
    return history


def load_data(args: argparse.Namespace, input_shape: tuple[int, ...]):
    """MNIST from --data (or the usual places), reshaped to input_shape, cut to --train-size."""
    x_train, y_train, x_test, y_test = load_mnist(args.data)
    x_train, x_test = x_train.reshape(-1, *input_shape), x_test.reshape(-1, *input_shape)
    if args.train_size is not None:
        x_train, y_train = x_train[: args.train_size], y_train[: args.train_size]
    return x_train, y_train, x_test, y_test


def run(args: argparse.Namespace, make_model, input_shape: tuple[int, ...]) -> float:
    """Train `make_model()` on MNIST (or evaluate a saved one) as `args` say; returns the test
    accuracy. A --resume or --eval file that does not fit the model exits with status 2 before
    the data loads, a NaN or infinite loss with status 3, Ctrl-C with status 130 and SIGTERM,
    which is handled as Ctrl-C, with 143, each with a message and without saving (see the
    module's docstring)."""
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        return _run(args, make_model, input_shape)
    except FlagError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_FLAG) from None
    except NonFiniteLoss as error:
        if args.distributed and dist.get_rank() != 0:
            raise SystemExit(EXIT_NON_FINITE_LOSS) from None  # rank 0 tells
        files = " and ".join(path for path in (args.save, args.checkpoint) if path)
        kept = f" ({files} left as they were)" if files else ""
        print(
            f"error: {error}. Training stopped without saving{kept}. The learning rate is probably too large: "
            f"try a smaller --lr than {args.lr}",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_NON_FINITE_LOSS) from None
    except KeyboardInterrupt as error:
        stopped = stopped_by(error)
        if not args.distributed or dist.get_rank() == 0:  # rank 0 tells
            print(str(error) or stopped.how, file=sys.stderr)
        raise SystemExit(stopped.exit_status) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def load_fitting_files(args: argparse.Namespace, model: nn.Module, opt: optim.Optimizer | None) -> None:
    """Check, before the data loads, that --resume's checkpoint and --eval's file fit `model` (and
    `opt`), loading them into it; raise FlagError if not. --eval takes a model file (model.save,
    --save) or a training checkpoint (--checkpoint), whose model it evaluates."""
    flag, path = ("eval", args.eval) if args.eval else ("resume", args.resume)
    if not path:
        return
    try:
        if flag == "resume":
            tn.load_checkpoint(path, model=model, optimizer=opt)
        elif TRAINING_MARK in npz_entry_names(path):
            tn.load_checkpoint(path, model=model)
        else:
            model.load(path)
    except (ValueError, TypeError) as error:
        raise FlagError(f"argument --{flag}: {error}") from None


def _run(args: argparse.Namespace, make_model, input_shape: tuple[int, ...]) -> float:
    main = not args.distributed or dist.get_rank() == 0
    if not main:  # only rank 0 prints, shows progress and saves
        sys.stdout, args.quiet = open(os.devnull, "w"), True  # noqa: SIM115 (open for the life of the process)
    tn.manual_seed(args.seed)
    model = make_model()
    opt = None if args.eval else make_optimizer(args.optimizer, args.lr, model)
    load_fitting_files(args, model, opt)
    data = load_data(args, input_shape)
    if args.eval:
        test_accuracy = accuracy(model, data[2], data[3])
    else:
        history = train(
            model,
            opt,
            data,
            args.epochs,
            args.batch_size,
            args.seed,
            args.quiet,
            checkpoint=args.checkpoint,
            resume=args.resume,
            run_settings=settings(args),
            diagnostics=tn.diagnostics.TrainingDiagnostics(model) if args.diagnose else None,
            distributed=args.distributed,
        )
        test_accuracy = history["test_accuracy"][-1]
        if not main:
            return test_accuracy
        if args.save:
            model.save(args.save)
            print(f"saved the model to {args.save}")
        if args.plot:
            plot_training_curves({args.optimizer: history}, args.plot, f"MNIST, {args.optimizer}, lr {args.lr}")
    if args.export:
        export_onnx(model, data[2][:2], args.export)
    if args.report:
        print(classification_report(predict(model, data[2]), data[3]))
    print(f"test accuracy: {test_accuracy:.4f}")
    return test_accuracy
