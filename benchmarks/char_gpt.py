"""Side by side: a training step of examples/char_gpt.py's GPT in tinynet and in PyTorch.

    python benchmarks/char_gpt.py                 # 10 rounds of 5 timed steps each, alternating
    python benchmarks/char_gpt.py --rounds 3      # a quicker look
    python benchmarks/char_gpt.py --threads 1     # both on one thread (steadier on a busy machine)

The workload is the example's: 4 blocks, 128 dimensions, 4 heads, context 64, batch 12, float32;
one step is the forward pass, the cross-entropy, the backward pass, clipping the gradients to
norm 1 and AdamW (lr 1e-3, weight decay 0.1 on the 2-D parameters only). PyTorch's model is
benchmarks/torch_models.py's twin, made of torch.nn.TransformerEncoderLayer (norm_first, GELU's
tanh form, a causal mask), on 2 threads (--threads), as many as numpy's BLAS gets. Both start from the same weights
(the tinynet model's, copied) and take the same batches of Shakespeare; the losses they reach
are printed as a check that they computed the same thing.

As benchmarks/mnist_mlp.py does, each framework runs in its own child process (so that its peak
resident memory is its own) that keeps freed memory, and the parent asks them in turn for a
round of steps, pausing a quarter of a second before each so that the other's idle threads have
left the cores. The table gives the median time per step, the ratio to PyTorch's, and memory
measured as the peak resident set size (getrusage's ru_maxrss) of the process: in all, and above
its peak before the first step (the training step's own working memory, caches included).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe_machine, keep_freed_memory
from torch_models import load_tinynet_gpt, torch_gpt

ROOT = Path(__file__).resolve().parents[1]
BATCH, BLOCK, LR, WEIGHT_DECAY, CLIP, SEED = 12, 64, 1e-3, 0.1, 1.0, 0
PAUSE = 0.25  # seconds: longer than OpenBLAS's (and OpenMP's) threads spin after their last work


def save_workload(path: Path) -> None:
    """The training text as token ids, and the tinynet model's first weights, for the workers."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "examples"))
    from gpt import GPT, GPTConfig, Vocabulary

    import tinynet as tn
    from tinynet.data import load_shakespeare

    train, validation = load_shakespeare()
    vocabulary = Vocabulary.from_text(train + validation)
    tn.manual_seed(SEED)
    model = GPT(GPTConfig(len(vocabulary), BLOCK))
    state = {f"weight/{name}": array for name, array in model.state_dict().items()}
    np.savez(path, tokens=vocabulary.encode(train).astype(np.uint8), **state)


def load_workload(path: Path) -> tuple[np.ndarray, dict]:
    with np.load(path) as saved:
        weights = {key.removeprefix("weight/"): saved[key] for key in saved.files if key.startswith("weight/")}
        return saved["tokens"].astype(np.int64), weights


def batches(tokens: np.ndarray):
    """The same endless stream of (inputs, targets) in every worker."""
    generator = np.random.default_rng(SEED)
    while True:
        windows = tokens[generator.integers(0, len(tokens) - BLOCK, BATCH)[:, None] + np.arange(BLOCK + 1)]
        yield windows[:, :-1], windows[:, 1:]


def tinynet_runner(tokens: np.ndarray, weights: dict):
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "examples"))
    from gpt import GPT, GPTConfig

    import tinynet as tn
    from tinynet import functional as F
    from tinynet import optim

    model = GPT(GPTConfig(len(weights["token_embedding.weight"]), BLOCK))
    model.load_state_dict(weights)
    opt = optim.AdamW(lr=LR, weight_decay=model.flat_values(lambda name, p: WEIGHT_DECAY if p.ndim == 2 else 0.0))
    stream = batches(tokens)

    def step() -> float:
        x, y = next(stream)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        model.zero_grad()
        loss.backward()
        optim.clip_grad_norm(model.grads, CLIP)
        opt.step(model.grads, model.params)
        return loss.item()

    return step, f"tinynet {tn.__version__}"


def torch_runner(tokens: np.ndarray, weights: dict):
    import torch

    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))  # as many as numpy's BLAS (main sets it)
    model = torch_gpt(len(weights["token_embedding.weight"]), BLOCK)
    load_tinynet_gpt(model, weights)
    decay = [p for p in model.parameters() if p.ndim == 2]
    no_decay = [p for p in model.parameters() if p.ndim != 2]
    groups = [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=LR)
    stream = batches(tokens)

    def step() -> float:
        x, y = (torch.from_numpy(a) for a in next(stream))
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        return loss.item()

    return step, f"torch {torch.__version__}"


RUNNERS = {"tinynet": tinynet_runner, "pytorch": torch_runner}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(name: str, path: Path, connection) -> None:
    """Runs in a child process: builds one framework's model, then times rounds of steps on request."""
    keep_freed_memory()
    try:
        step, version = RUNNERS[name](*load_workload(path))
    except ImportError as error:
        connection.send(("unavailable", str(error)))
        return
    before = peak_rss_mib()
    connection.send(("ready", version))
    loss = float("nan")
    while (request := connection.recv()) != "stop":
        start = time.perf_counter()
        for _ in range(request):
            loss = step()
        connection.send((time.perf_counter() - start) / request)
    connection.send((loss, peak_rss_mib(), peak_rss_mib() - before))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds per framework")
    parser.add_argument("--steps", type=int, default=5, help="steps per round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--threads", type=int, default=2, help="threads for each framework's kernels")
    args = parser.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # read by numpy's BLAS as the workers start

    context = multiprocessing.get_context("spawn")
    workers, versions = {}, []
    with tempfile.TemporaryDirectory() as folder:  # removed once every worker has loaded the workload
        path = Path(folder) / "workload.npz"
        save_workload(path)
        for name in RUNNERS:
            parent_end, child_end = context.Pipe()
            process = context.Process(target=worker, args=(name, path, child_end))
            process.start()
            status, detail = parent_end.recv()
            if status != "ready":
                sys.exit(f"{name}: cannot run ({detail})")
            workers[name] = (process, parent_end)
            versions.append(detail)

    times = {name: [] for name in workers}
    for round_ in range(args.warmup + args.rounds):
        for name, (_, connection) in workers.items():
            time.sleep(PAUSE)
            connection.send(args.steps)
            seconds = connection.recv()
            if round_ >= args.warmup:
                times[name].append(seconds)
        shown = "  ".join(f"{n} {t[-1] * 1e3:.1f} ms" for n, t in times.items() if t)
        print(f"round {round_ + 1}: {shown}", flush=True)

    results = {}
    for name, (process, connection) in workers.items():
        connection.send("stop")
        results[name] = connection.recv()
        process.join()

    steps = (args.warmup + args.rounds) * args.steps
    print(
        f"\nchar_gpt step (4 blocks, 128 dims, 4 heads, context {BLOCK}, batch {BATCH}, AdamW, float32); "
        f"{args.rounds} rounds of {args.steps} steps each, alternating, {args.threads} thread(s) each; "
        f"{describe_machine()}; {', '.join(versions)}"
    )
    base = statistics.median(times["pytorch"])
    print(f"{'framework':10s} {'ms/step':>8s} {'vs PyTorch':>11s} {'peak RSS':>10s} {'step memory':>12s} {'loss':>8s}")
    for name in workers:
        median = statistics.median(times[name])
        loss, peak, growth = results[name]
        print(f"{name:10s} {median * 1e3:8.1f} {median / base:10.2f}x {peak:6.0f} MiB {growth:8.0f} MiB {loss:8.4f}")
    ratio = statistics.median(times["tinynet"]) / base
    print(f"tinynet / PyTorch: {ratio:.2f} (target <= 1.5); the loss after {steps} steps: the same to rounding")


if __name__ == "__main__":
    main()
