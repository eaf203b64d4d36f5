"""Side by side: one MNIST epoch of the reference MLP in tinynet, PyTorch and hand-written numpy.

    python benchmarks/mnist_mlp.py            # 5 timed epochs each, alternating
    python benchmarks/mnist_mlp.py --quick    # 2 timed epochs each
    python benchmarks/mnist_mlp.py --model cnn --epochs 1
    python benchmarks/mnist_mlp.py --model lstm --epochs 3

Reference workload (mlp): 784-256-128-10 ReLU MLP, softmax cross-entropy, Adam(lr=1e-3),
batch 128, shuffled, float32, one epoch of 60,000 samples; only the training loop is timed
(data already in memory). The cnn workload is conv3x3(1->16, pad 1)-ReLU-maxpool2,
conv3x3(16->32, pad 1)-ReLU-maxpool2, Linear(1568, 128)-ReLU, Linear(128, 10), same settings.
The lstm workload is sequential MNIST: each image as 28 rows of 28 pixels,
LSTM(28, 128, batch_first=True), Linear(128, 10) on the last hidden state, same settings.

Each framework runs in its own child process, so that its peak resident memory is its own;
every one keeps freed memory (tinynet.memory, as the examples do: the same malloc setting for
all, see machine.keep_freed_memory); the parent
asks them for one epoch in turn, so that a slow patch of the machine hits all of them alike.
It waits a quarter of a second before each epoch: OpenBLAS's worker threads (numpy's, so
tinynet's and the numpy baseline's) spin on their cores for about 0.1 s after a process's last
matrix product, and without the pause the next framework's epoch would begin on one core.
The table's header names the machine (cores, CPU, versions); the table gives the median
seconds per epoch, each framework's time as a ratio to tinynet's, the peak RSS and the test
accuracy after the timed epochs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe_machine, keep_freed_memory
from torch_models import torch_model

ROOT = Path(__file__).resolve().parents[1]
BATCH, LR, SEED = 128, 1e-3, 0
PAUSE_BEFORE_EPOCH = 0.25  # seconds: longer than OpenBLAS's threads spin after a product (0.1 s)


def save_data(model: str, path: Path) -> None:
    """MNIST in the model's input shape, saved for the workers, which load it with numpy alone:
    only the tinynet worker imports tinynet."""
    sys.path.insert(0, str(ROOT))
    from tinynet.data import load_mnist

    x_train, y_train, x_test, y_test = load_mnist()
    shape = {"mlp": (-1, 784), "cnn": (-1, 1, 28, 28), "lstm": (-1, 28, 28)}[model]
    np.savez(path, x_train=x_train.reshape(shape), y_train=y_train, x_test=x_test.reshape(shape), y_test=y_test)


def load_data(path: Path):
    with np.load(path) as data:
        return data["x_train"], data["y_train"], data["x_test"], data["y_test"]


def tinynet_runner(model: str, x_train, y_train, x_test, y_test):
    import tinynet as tn
    from tinynet import functional as F
    from tinynet import optim
    from tinynet.data import DataLoader, TensorDataset

    sys.path.insert(0, str(ROOT / "examples"))
    import mnist_training
    from mnist_cnn import make_model as make_cnn
    from mnist_lstm import RowReader
    from mnist_mlp import make_model as make_mlp

    tn.manual_seed(SEED)
    net = {"mlp": make_mlp, "cnn": make_cnn, "lstm": RowReader}[model]()
    opt = optim.Adam(lr=LR)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=BATCH, shuffle=True, seed=SEED)

    def epoch():
        for x, y in loader:
            loss = F.cross_entropy(net(x), y)
            net.zero_grad()
            loss.backward()
            opt.step(net.grads, net.params)

    def accuracy():
        return mnist_training.accuracy(net, x_test, y_test)

    return epoch, accuracy


def torch_runner(model: str, x_train, y_train, x_test, y_test):
    import torch

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(SEED)
    net = torch_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(SEED)

    def epoch():
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), BATCH):
            batch = order[start : start + BATCH]
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()

    @torch.no_grad()
    def accuracy():
        return float((net(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean())

    return epoch, accuracy


def numpy_runner(model: str, x_train, y_train, x_test, y_test):
    if model != "mlp":
        return None
    sys.path.insert(0, str(Path(__file__).parent))
    from numpy_mlp import NumpyMLP

    net = NumpyMLP(lr=LR, seed=SEED)
    generator = np.random.default_rng(SEED)

    def epoch():
        order = generator.permutation(len(y_train))
        for start in range(0, len(y_train), BATCH):
            batch = order[start : start + BATCH]
            net.train_step(x_train[batch], y_train[batch])

    def accuracy():
        return float((net.predict(x_test) == y_test).mean())

    return epoch, accuracy


RUNNERS = {"tinynet": tinynet_runner, "pytorch": torch_runner, "numpy": numpy_runner}


def worker(name: str, model: str, data_path: Path, connection) -> None:
    """Runs in a child process: builds one framework's model, then times epochs on request."""
    keep_freed_memory()
    try:
        runner = RUNNERS[name](model, *load_data(data_path))
    except ImportError as error:
        connection.send(("unavailable", str(error)))
        return
    if runner is None:
        connection.send(("unavailable", f"no {model} in this framework"))
        return
    epoch, accuracy = runner
    connection.send(("ready", None))
    while connection.recv() == "epoch":
        start = time.perf_counter()
        epoch()
        connection.send(time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    connection.send((accuracy(), peak_mib))


def start_workers(model: str, data_path: Path) -> dict:
    """One child process per framework, each ready to time epochs; {name: (process, connection)}."""
    context = multiprocessing.get_context("spawn")
    workers = {}
    for name in RUNNERS:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=worker, args=(name, model, data_path, child_end))
        process.start()
        status, detail = parent_end.recv()
        if status == "ready":
            workers[name] = (process, parent_end)
        else:
            print(f"{name}: skipped ({detail})")
            process.join()
    return workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["mlp", "cnn", "lstm"], default="mlp")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per framework")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    parser.add_argument("--quick", action="store_true", help="2 timed epochs, no warm-up")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.warmup = 2, 0

    with tempfile.TemporaryDirectory() as folder:  # removed once every worker has loaded the data
        data_path = Path(folder) / "mnist.npz"
        save_data(args.model, data_path)
        workers = start_workers(args.model, data_path)

    times = {name: [] for name in workers}
    for round_ in range(args.warmup + args.epochs):
        for name, (_, connection) in workers.items():
            time.sleep(PAUSE_BEFORE_EPOCH)  # the previous worker's idle threads stop using the cores
            connection.send("epoch")
            seconds = connection.recv()
            if round_ >= args.warmup:
                times[name].append(seconds)
        print(f"round {round_ + 1}: " + "  ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items() if t), flush=True)

    results = {}
    for name, (process, connection) in workers.items():
        connection.send("stop")
        results[name] = connection.recv()
        process.join()

    base = statistics.median(times["tinynet"])
    print(
        f"\n{args.model}, batch {BATCH}, Adam, float32; {args.epochs} timed epochs each, alternating; "
        + describe_machine()
    )
    print(f"{'framework':10s} {'s/epoch':>9s} {'vs tinynet':>11s} {'peak RSS':>10s} {'test acc':>9s}")
    for name in workers:
        median = statistics.median(times[name])
        accuracy, peak = results[name]
        print(f"{name:10s} {median:9.3f} {median / base:10.2f}x {peak:7.0f} MiB {accuracy:9.4f}")
    for name, target in (("pytorch", {"mlp": 0.85, "cnn": 1.0, "lstm": 1.5}[args.model]), ("numpy", 1.0)):
        if name in times:
            ratio = base / statistics.median(times[name])
            print(f"tinynet / {name}: {ratio:.2f} (target <= {target})")
    if args.model == "mlp":
        main_job_peak_memory()


def main_job_peak_memory() -> None:
    """Peak RSS of the main job itself, `python examples/mnist_mlp.py`, for one epoch."""
    job = [sys.executable, str(ROOT / "examples" / "mnist_mlp.py"), "--epochs", "1", "--save", "", "--quiet"]
    measure = (  # in a fresh process, whose only child is the job: this process's workers don't count
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    peak = int(subprocess.check_output([sys.executable, "-c", measure, *job])) / 1024
    print(f"peak RSS of python examples/mnist_mlp.py (1 epoch): {peak:.0f} MiB (target <= 400)")


if __name__ == "__main__":
    main()
