"""Timing ratios for issue 2: closed form vs Ridge, exact LOO vs GridSearchCV.

Run with ``make bench`` (or ``python benchmarks/bench_linear.py [--quick]``).
Every ratio compares two timings taken in the same run on the same data.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _results import write_figures
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV

from skdrop import DropoutLinearRegression, DropoutLinearRegressionCV


def best_time(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def make_data(n_samples, n_features, seed=0):
    """Correlated, uncentered columns of mixed scale and a noisy linear target."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n_samples, 20))
    X = latent @ rng.standard_normal((20, n_features)) * 0.3
    X += rng.standard_normal((n_samples, n_features))
    X = X * rng.uniform(0.5, 5, n_features) + rng.normal(0, 2, n_features)
    y = X @ rng.standard_normal(n_features) + 3 * rng.standard_normal(n_samples)
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data, 1 repeat")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    n, d = (20_000, 50) if args.quick else (200_000, 200)
    repeats = 1 if args.quick else 3
    rates = np.linspace(0.0, 0.95, 30)
    X, y = make_data(n, d)
    print(f"n = {n}, d = {d}, float64, {len(rates)} dropout rates")

    ridge = best_time(lambda: Ridge(alpha=1.0, solver="cholesky").fit(X, y), repeats)
    fit = best_time(
        lambda: DropoutLinearRegression(input_dropout=0.2).fit(X, y), repeats
    )
    cv_model = DropoutLinearRegressionCV(input_dropouts=rates)
    loo = best_time(lambda: cv_model.fit(X, y), repeats)
    search = GridSearchCV(
        DropoutLinearRegression(), {"input_dropout": list(rates)}, cv=5
    )
    grid = best_time(lambda: search.fit(X, y), 1)

    figures = {
        "n_samples": n,
        "n_features": d,
        "ridge_cholesky_s": ridge,
        "closed_form_fit_s": fit,
        "loo_cv_30_rates_s": loo,
        "grid_search_5fold_30_rates_s": grid,
        "fit_over_ridge": fit / ridge,
        "loo_cv_over_fit": loo / fit,
        "grid_search_over_loo_cv": grid / loo,
    }
    print(f"Ridge(solver='cholesky') fit        {ridge:8.3f} s")
    print(f"DropoutLinearRegression fit         {fit:8.3f} s")
    print(f"DropoutLinearRegressionCV, 30 rates {loo:8.3f} s")
    print(f"GridSearchCV, 30 rates x 5 folds    {grid:8.3f} s")
    print(f"closed form / Ridge        = {fit / ridge:6.2f}   (target <= 1.3)")
    print(f"LOO CV / closed-form fit   = {loo / fit:6.2f}   (target <= 3)")
    print(f"GridSearchCV / LOO CV      = {grid / loo:6.1f}   (target >= 20)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    if not args.quick:
        write_figures(
            "linear_timing",
            "DropoutLinearRegressionCV: exact leave-one-out against GridSearchCV",
            figures,
            notes=f"Best of {repeats} runs (GridSearchCV: one run).",
        )


if __name__ == "__main__":
    main()
