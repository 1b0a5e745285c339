"""Timing ratios for issue 5: the linear ablation fast path, parallel ablation.

Run with ``make bench`` (or ``python benchmarks/bench_inspection.py [--quick]``).

1. ``ablation_importance`` of a closed-form ``DropoutLinearRegression``
   (n = 20,000, d = 100, 5 splits): its ``drop_column_refits`` (rank-one
   downdates) against the refit loop, which a subclass that offers no exact
   refits gets, and the downdates again behind a ``StandardScaler`` in a
   Pipeline.  All give the same importances; the largest difference is
   printed.
2. ``ablation_importance`` of a ``DropoutMLPRegressor`` with ``n_jobs=2``
   against ``n_jobs=1``, same data and seeds; identical importances.

Every ratio compares two timings taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
from _results import write_figures
from bench_linear import make_data
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutLinearRegression, DropoutMLPRegressor
from skdrop.inspection import ablation_importance


def timed(func):
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def best_of(func, repeats):
    runs = [timed(func) for _ in range(repeats)]
    return min(t for t, _ in runs), runs[0][1]


class NoExactRefits(DropoutLinearRegression):
    """The same model, offering no exact refits: ablation refits it."""

    def drop_column_refits(self, X, y, column_groups, sample_weight=None):
        return None


def bench_linear(n, d, repeats):
    X, y = make_data(n, d)
    model = DropoutLinearRegression(0.2)
    slow_t, slow = best_of(
        lambda: ablation_importance(NoExactRefits(0.2), X, y), repeats
    )
    fast_t, fast = best_of(lambda: ablation_importance(model, X, y), repeats)
    pipe = make_pipeline(StandardScaler(), model)
    pipe_t, _ = best_of(lambda: ablation_importance(pipe, X, y), repeats)
    diff = float(np.abs(fast.importances - slow.importances).max())
    print(f"linear ablation, n={n}, d={d}, cv=5, best of {repeats}")
    print(f"  refit loop     {slow_t:8.3f} s")
    print(f"  downdate path  {fast_t:8.3f} s   -> {slow_t / fast_t:.1f}x faster")
    print(f"  in a Pipeline  {pipe_t:8.3f} s   (StandardScaler, then downdates)")
    print(f"  largest |difference| in importances: {diff:.2e}")
    return {
        "linear_n": n,
        "linear_d": d,
        "linear_refit_s": slow_t,
        "linear_fast_s": fast_t,
        "linear_pipeline_s": pipe_t,
        "linear_speedup": slow_t / fast_t,
        "linear_max_abs_diff": diff,
    }


def bench_parallel(n, d, max_iter, rounds):
    X, y = make_data(n, d, seed=1)
    y = (y - y.mean()) / y.std()
    mlp = DropoutMLPRegressor(
        (64, 64), input_dropout=0.1, hidden_dropout=0.2, max_iter=max_iter, tol=0.0
    )

    def run(n_jobs):
        return ablation_importance(mlp, X, y, cv=5, random_state=0, n_jobs=n_jobs)

    run(2)  # start the worker processes once, as a session would have them
    serial_times, parallel_times = [], []
    for _ in range(rounds):  # interleaved, so drifts in machine load cancel
        serial_t, serial = timed(lambda: run(1))
        parallel_t, parallel = timed(lambda: run(2))
        serial_times.append(serial_t)
        parallel_times.append(parallel_t)
    serial_t = float(np.median(serial_times))
    parallel_t = float(np.median(parallel_times))
    # The workers run torch on one thread each, this process on all cores:
    # float sums in another order, so equal to round-off, not bitwise.
    diff = float(np.abs(serial.importances - parallel.importances).max())
    print(
        f"MLP ablation, n={n}, d={d}, (64, 64), {max_iter} epochs, cv=5: "
        f"{5 * (d + 1)} fits"
    )
    print(f"  n_jobs=1       {serial_t:8.3f} s")
    print(
        f"  n_jobs=2       {parallel_t:8.3f} s   -> {serial_t / parallel_t:.2f}x faster"
    )
    print(f"  medians of {rounds} interleaved rounds")
    print(f"  largest |difference| in importances: {diff:.2e}")
    return {
        "mlp_n": n,
        "mlp_d": d,
        "mlp_serial_s": serial_t,
        "mlp_parallel_s": parallel_t,
        "mlp_speedup": serial_t / parallel_t,
        "mlp_max_abs_diff": diff,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    # The joblib workers inherit the environment, not the filters.
    os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"
    print(f"{os.cpu_count()} CPU cores")
    figures = bench_linear(*((4000, 30, 1) if args.quick else (20_000, 100, 3)))
    figures |= bench_parallel(*((600, 4, 3, 1) if args.quick else (4000, 12, 20, 3)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    if not args.quick:
        write_figures(
            "inspection_timing",
            "ablation_importance: exact linear refits against the refit loop, "
            "and n_jobs=2 against n_jobs=1",
            figures,
        )


if __name__ == "__main__":
    main()
