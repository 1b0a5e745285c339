"""Timing ratios for issue 3: the dropout MLP against scikit-learn and skorch.

Run with ``make bench`` (or ``python benchmarks/bench_mlp.py [--quick]``).
Setting: make_classification(20000, 50) as float32, hidden layers (256, 128),
20 epochs, batch 128, Adam with learning rate 1e-3, hidden dropout 0.5, no
early stopping, torch on 2 CPU threads.  Each figure is the median of
interleaved rounds, and every ratio compares timings taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skdrop import DropoutMLPClassifier

HIDDEN = (256, 128)
BATCH = 128
LR = 1e-3


def skdrop_model(epochs, dropout):
    return DropoutMLPClassifier(
        hidden_layer_sizes=HIDDEN,
        hidden_dropout=dropout,
        batch_size=BATCH,
        learning_rate_init=LR,
        max_iter=epochs,
        n_iter_no_change=10**6,
        random_state=0,
    )


def sklearn_model(epochs):
    return MLPClassifier(
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH,
        learning_rate_init=LR,
        max_iter=epochs,
        n_iter_no_change=10**6,
        random_state=0,
    )


def skorch_model(epochs, dropout, n_features):
    """skorch with the same layers, dropout, optimizer and batches."""
    from skorch import NeuralNetClassifier

    layers = []
    width = n_features
    for size in HIDDEN:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        layers.append(torch.nn.Dropout(dropout))
        width = size
    layers.append(torch.nn.Linear(width, 2))
    return NeuralNetClassifier(
        torch.nn.Sequential(*layers),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=BATCH,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )


def gpu_throughput(quick):
    """Training rows per second on CUDA and on the CPU, layers (1024,) * 3.

    The CPU runs one epoch on a slice of the rows (a full epoch of a million
    rows would take many minutes); throughput is rows per second either way.
    """
    n_rows = 20_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, 50), dtype=np.float32)
    y = (X[:, :5].sum(axis=1) > 0).astype(np.int64)
    out = {}
    for device, rows in (("cuda", n_rows), ("cpu", min(n_rows, 20_000))):
        model = DropoutMLPClassifier(
            hidden_layer_sizes=(1024, 1024, 1024),
            batch_size=1024,
            max_iter=1 if device == "cpu" else 3,
            n_iter_no_change=10**6,
            random_state=0,
            device=device,
        )
        model.fit(X[:2048], y[:2048])  # warm-up (CUDA context, kernels)
        seconds = timed(lambda m=model, r=rows: m.fit(X[:r], y[:r]))
        out[f"{device}_rows_per_s"] = rows * model.n_iter_ / seconds
    out["cuda_over_cpu"] = out["cuda_rows_per_s"] / out["cpu_rows_per_s"]
    return out


def timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1 round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-skorch", action="store_true", help="skip skorch")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    warnings.simplefilter("ignore", ConvergenceWarning)
    epochs = 2 if args.quick else 20
    rounds = 1 if args.quick else args.rounds
    X, y = make_classification(20_000, 50, n_informative=20, random_state=0)
    X = X.astype(np.float32)
    use_skorch = not args.no_skorch
    if use_skorch:
        try:
            import skorch  # noqa: F401
        except ImportError:
            print("skorch is not installed (pip install skorch); skipping it")
            use_skorch = False

    # Warm-up: first-call costs (imports, thread pools) are not the subject.
    skdrop_model(1, 0.5).fit(X[:2000], y[:2000])
    if use_skorch:
        skorch_model(1, 0.5, X.shape[1]).fit(X[:2000], y[:2000])

    times: dict[str, list[float]] = {}
    fitted = {}
    for _ in range(rounds):
        runs = {
            "skdrop_dropout_0.5": lambda: skdrop_model(epochs, 0.5),
            "skdrop_dropout_0": lambda: skdrop_model(epochs, 0.0),
            "sklearn_mlp": lambda: sklearn_model(epochs),
        }
        if use_skorch:
            runs["skorch_dropout_0.5"] = lambda: skorch_model(epochs, 0.5, X.shape[1])
        for name, make in runs.items():
            model = make()
            times.setdefault(name, []).append(timed(lambda m=model: m.fit(X, y)))
            fitted[name] = model
    for name in ("skdrop_dropout_0.5", "sklearn_mlp"):
        model = fitted[name]
        times[f"{name}_predict_proba"] = [
            timed(lambda m=model: m.predict_proba(X)) for _ in range(5)
        ]
    med = {name: statistics.median(values) for name, values in times.items()}

    figures = {"epochs": epochs, "rounds": rounds, "seconds": med}
    ratios = {
        "dropout_over_no_dropout": (
            med["skdrop_dropout_0.5"] / med["skdrop_dropout_0"],
            1.15,
        ),
        "fit_over_sklearn": (med["skdrop_dropout_0.5"] / med["sklearn_mlp"], 1.0),
        "predict_proba_over_sklearn": (
            med["skdrop_dropout_0.5_predict_proba"] / med["sklearn_mlp_predict_proba"],
            1.0,
        ),
    }
    if use_skorch:
        ratios["fit_over_skorch"] = (
            med["skdrop_dropout_0.5"] / med["skorch_dropout_0.5"],
            0.5,
        )
    print(
        f"make_classification(20000, 50), layers {HIDDEN}, {epochs} epochs, "
        f"batch {BATCH}, median of {rounds} rounds"
    )
    for name, value in med.items():
        print(f"  {name:40s} {value:8.3f} s")
    for name, (value, target) in ratios.items():
        print(f"  {name:40s} {value:8.2f}   (target <= {target})")
    figures["ratios"] = {name: value for name, (value, _) in ratios.items()}
    if torch.cuda.is_available():
        gpu = gpu_throughput(args.quick)
        figures["gpu"] = gpu
        print(
            f"  layers (1024,)*3, batch 1024: cuda {gpu['cuda_rows_per_s']:,.0f} "
            f"rows/s, cpu {gpu['cpu_rows_per_s']:,.0f} rows/s, "
            f"ratio {gpu['cuda_over_cpu']:.1f}x"
        )
    else:
        print("  no CUDA device: GPU throughput not measured")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)


if __name__ == "__main__":
    main()
