"""Timing ratios for issue 16: a cross-validated grid of dropout rates trained
side by side (``DropoutMLPClassifierCV``) against one plain fit and against
``GridSearchCV`` over the plain estimator.

Run with ``make bench`` (or ``python benchmarks/bench_mlp_cv.py [--quick]``).

* **A.** ``make_classification(5000, 20)`` as float32, the default (100,)
  network, 3 input x 4 hidden rates x 5 folds (60 members), 50 epochs, no
  early stopping (the stopping rule off, so every network runs 50 epochs):
  the CV estimator / one plain fit on all rows, and ``GridSearchCV(n_jobs=1)``
  over the same grid and folds / the CV estimator.
* **B.** ``make_classification(20000, 50)``, (256, 128), 20 epochs, batch
  128, the same grid: the CV estimator / one plain fit.
* **M = 1.** The member engine training one network against the plain
  estimator's trainer on the same rows (setting A, hidden dropout 0.5): the
  engine's overhead for a single member.

Each figure is the median of interleaved rounds (``--rounds``), and every
ratio compares timings taken in the same run, with torch on 2 CPU threads.
The CV estimator keeps its fold networks (``refit="ensemble"``): no refit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
import torch
from _results import write_figures
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skdrop import DropoutMLPClassifier, DropoutMLPClassifierCV

INPUT_RATES = (0.0, 0.1, 0.2)
HIDDEN_RATES = (0.0, 0.1, 0.3, 0.5)
SETTINGS = {
    "A": dict(n=5000, d=20, hidden=(100,), epochs=50, batch="auto"),
    "B": dict(n=20000, d=50, hidden=(256, 128), epochs=20, batch=128),
}


def data(n, d):
    X, y = make_classification(n, d, n_informative=d // 2, random_state=0)
    return X.astype(np.float32), y


def common(setting, epochs):
    return dict(
        hidden_layer_sizes=setting["hidden"],
        batch_size=setting["batch"],
        max_iter=epochs,
        n_iter_no_change=10**6,
        random_state=0,
    )


def timed(fn):
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def run_setting(name, rounds, grid_search, quick):
    setting = SETTINGS[name]
    epochs = max(2, setting["epochs"] // 10) if quick else setting["epochs"]
    X, y = data(setting["n"], setting["d"])
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    params = common(setting, epochs)
    models = {
        "one fit": lambda: DropoutMLPClassifier(**params, hidden_dropout=0.5).fit(X, y),
        "CV estimator": lambda: DropoutMLPClassifierCV(
            **params,
            input_dropouts=INPUT_RATES,
            hidden_dropouts=HIDDEN_RATES,
            cv=folds,
            refit="ensemble",
        ).fit(X, y),
    }
    if grid_search:
        grid = {
            "input_dropout": list(INPUT_RATES),
            "hidden_dropout": list(HIDDEN_RATES),
        }
        models["GridSearchCV"] = lambda: GridSearchCV(
            DropoutMLPClassifier(**params), grid, cv=folds, n_jobs=1, refit=False
        ).fit(X, y)
    times = {k: [] for k in models}
    for _ in range(rounds):
        for key, fit in models.items():
            times[key].append(timed(fit))
    medians = {k: statistics.median(v) for k, v in times.items()}
    out = {f"{name}: {k} (s)": v for k, v in medians.items()}
    out[f"{name}: CV estimator / one fit"] = (
        medians["CV estimator"] / medians["one fit"]
    )
    if grid_search:
        out[f"{name}: GridSearchCV / CV estimator"] = (
            medians["GridSearchCV"] / medians["CV estimator"]
        )
    return out


def single_member(rounds, quick):
    """The member engine with M = 1 against the plain trainer, same rows."""
    from skdrop._engine import MemberPlan, train, train_members

    setting = SETTINGS["A"]
    epochs = 5 if quick else setting["epochs"]
    X, y = data(setting["n"], setting["d"])
    est = DropoutMLPClassifier(**common(setting, epochs), hidden_dropout=0.5)
    problem = est._training_problem(X, y, None)
    config, Y, (run,) = est._training_members(problem, [np.arange(len(X))])
    X64, spec, head, seeds = problem.X, problem.spec, problem.head, problem.seeds
    plan = MemberPlan(spec.rates, seeds[:3], run.train_rows)
    device = torch.device("cpu")

    def plain():
        from skdrop._engine import build_trainer

        trainer = build_trainer(spec, head, config, list(seeds), device)
        train(trainer, X64, Y, None, epochs)

    def member():
        train_members(spec, [plan], head, config, X64, Y, None, epochs, device=device)

    a, b = [], []
    for _ in range(rounds):
        a.append(timed(plain))
        b.append(timed(member))
    return {
        "M=1: plain trainer (s)": statistics.median(a),
        "M=1: member engine (s)": statistics.median(b),
        "M=1: member engine / plain trainer": statistics.median(b)
        / statistics.median(a),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-b", action="store_true", help="setting A only")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(2)
    warnings.simplefilter("ignore", ConvergenceWarning)
    rounds = 1 if args.quick else args.rounds
    figures = {}
    figures |= run_setting("A", rounds, grid_search=True, quick=args.quick)
    if not args.skip_b:
        figures |= run_setting("B", 1, grid_search=False, quick=args.quick)
    figures |= single_member(rounds, args.quick)
    if torch.cuda.is_available():
        figures["cuda"] = "run the members benchmark on cuda by hand: device='cuda'"
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    if not args.quick:
        write_figures(
            "mlp_cv_cost",
            "DropoutMLPClassifierCV: a 3 x 4 grid of rates x 5 folds (60 networks) "
            "against one plain fit and GridSearchCV",
            figures,
            notes=f"Medians of {rounds} interleaved rounds, torch on 2 threads.",
        )


if __name__ == "__main__":
    main()
