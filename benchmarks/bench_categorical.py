"""Categorical features: does group dropout pay, and what does encoding cost.

1. Accuracy (issue 4 asks for the figures, with no threshold): 5-fold
   cross-validated accuracy of ``DropoutMLPClassifier`` with input dropout
   applied per one-hot group (``categorical_features``), per encoded column
   (the same one-hot columns as plain numeric inputs), and without input
   dropout, at the same rates.  Datasets: Palmer penguins (species from
   island, sex and the measurements) and the Vega ``cars`` table (origin from
   the engine figures, with the number of cylinders as a categorical feature).
2. Encoding (issue 15): time and peak memory (tracemalloc) of encoding a
   table, skdrop's OneHotEncoder-based encoder against the reference encoder
   it replaced, in the same run: the penguins, and a wide table of 100,000
   rows whose ``id`` column has 10,000 levels (20,000 x 2,000 with
   ``--quick``).

Run ``python benchmarks/bench_categorical.py [--quick] [--part encoding]``.
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from _results import write_records
from bench_linear import best_time
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdrop import DropoutMLPClassifier
from skdrop.utils._categorical import CategoricalEncoder, resolve_categorical


def penguins():
    from palmerpenguins import load_penguins

    df = load_penguins()
    return df.drop(columns="species"), df["species"], ["island", "sex"]


def cars():
    from vega_datasets import data

    df = data.cars()
    X = df.drop(columns=["Name", "Origin"])
    X["Year"] = X["Year"].dt.year
    X["Cylinders"] = X["Cylinders"].astype(str)
    return X, df["Origin"], ["Cylinders"]


def preprocessor(categorical, one_hot):
    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    if one_hot:
        cat = make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
    else:
        cat = "passthrough"
    return ColumnTransformer(
        [
            ("num", numeric, make_column_selector(dtype_include="number")),
            ("cat", cat, categorical),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def model(mode, rate, seed, epochs):
    return DropoutMLPClassifier(
        hidden_layer_sizes=(64,),
        hidden_dropout=0.2,
        input_dropout=0.0 if mode == "none" else rate,
        learning_rate_init=0.01,
        max_iter=epochs,
        random_state=seed,
    )


class ReferenceEncoder:
    """The encoder skdrop had before OneHotEncoder, without ``max_categories``:
    levels compared as ``str`` (so 1 and "1" collided), dense float64 output."""

    def fit(self, X, categorical):
        self.categorical = categorical
        self.levels = {}
        for j in np.flatnonzero(categorical):
            values = X.iloc[:, j].to_numpy(dtype=object)
            self.levels[j] = np.unique(values[~pd.isna(values)].astype(str))
        widths = [len(self.levels[j]) if c else 1 for j, c in enumerate(categorical)]
        self.starts = np.r_[0, np.cumsum(widths)]
        return self

    def transform(self, X):
        out = np.zeros((len(X), self.starts[-1]), dtype=np.float64)
        for j, start in enumerate(self.starts[:-1]):
            if not self.categorical[j]:
                out[:, start] = X.iloc[:, j].to_numpy(dtype=np.float64)
                continue
            values = X.iloc[:, j].to_numpy(dtype=object)
            text, levels = values.astype(str), self.levels[j]
            pos = np.minimum(np.searchsorted(levels, text), len(levels) - 1)
            known = ~pd.isna(values) & (levels[pos] == text)
            out[np.flatnonzero(known), start + pos[known]] = 1.0
        return out


def wide_table(n_rows, n_levels, seed=0):
    """One ``id`` column holding every level at least once: at 10,000 levels
    exactly the widest encoding an estimator accepts."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"user{k}" for k in range(n_levels)], dtype=object)
    drawn = np.r_[np.arange(n_levels), rng.integers(0, n_levels, n_rows)][:n_rows]
    return pd.DataFrame({"id": ids[drawn]})


def peak_mb(func):
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(name, X, label, fit, transform, repeats):
    return {
        "table": name,
        "shape": f"{X.shape[0]} x {X.shape[1]}",
        "encoder": label,
        "seconds": best_time(lambda: (fit(), transform(X)), repeats),
        "one_row_ms": 1e3 * best_time(lambda: transform(X.head(1)), 10 * repeats),
        "peak_mib": peak_mb(lambda: transform(X)),
    }


def encoding_figures(name, X, repeats):
    """Per encoder: seconds to fit and transform ``X``, milliseconds to
    transform one row (a single prediction), peak MiB of the transform."""
    mask = resolve_categorical("from_dtype", X)
    new = CategoricalEncoder(mask, None)
    old = ReferenceEncoder()
    runs = {
        "reference, float64": (lambda: old.fit(X, mask), old.transform),
        "OneHotEncoder, float32": (
            lambda: new.fit(X),
            lambda Z: new.transform(Z, dtype=np.float32),
        ),
        "OneHotEncoder, sparse": (
            lambda: new.fit(X),
            lambda Z: new.transform(Z, dtype=np.float32, sparse=True),
        ),
    }
    rows = [measure(name, X, label, *run, repeats) for label, run in runs.items()]
    for row in rows:
        row["time_ratio"] = row["seconds"] / rows[0]["seconds"]
        print(row, flush=True)
    return rows


def encoding(quick):
    X, _, _ = penguins()
    X = X.fillna({c: 0.0 for c in X.select_dtypes("number").columns})
    rows = encoding_figures("penguins", X, 20)
    n_rows, n_levels = (20_000, 2_000) if quick else (100_000, 10_000)
    return rows + encoding_figures("wide", wide_table(n_rows, n_levels), 3)


def accuracy(quick):
    seeds = [0] if quick else [0, 1, 2]
    epochs = 30 if quick else 200
    rates = [0.2, 0.5]
    rows = []
    for name, load in (("penguins", penguins), ("cars", cars)):
        X, y, categorical = load()
        for rate in rates:
            for mode in ("group", "elementwise", "none"):
                scores = []
                for seed in seeds:
                    # Group dropout: raw categorical columns, encoded by the
                    # estimator; otherwise one-hot columns as plain inputs.
                    prep = preprocessor(categorical, one_hot=mode != "group")
                    if mode == "group":
                        prep = make_pipeline(
                            ColumnTransformer(
                                [
                                    (
                                        "cat",
                                        SimpleImputer(strategy="most_frequent"),
                                        categorical,
                                    )
                                ],
                                remainder="passthrough",
                                verbose_feature_names_out=False,
                            ).set_output(transform="pandas"),
                            prep,
                        )
                    pipe = make_pipeline(prep, model(mode, rate, seed, epochs))
                    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
                    scores.extend(cross_val_score(pipe, X, y, cv=cv))
                rows.append(
                    {
                        "dataset": name,
                        "input_dropout": rate if mode != "none" else 0.0,
                        "mode": mode,
                        "accuracy_mean": float(np.mean(scores)),
                        "accuracy_std": float(np.std(scores)),
                        "n_scores": len(scores),
                    }
                )
                print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="1 seed, 30 epochs, a smaller wide table"
    )
    parser.add_argument(
        "--part", choices=["all", "accuracy", "encoding"], default="all"
    )
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    figures = {}
    if args.part in ("all", "accuracy"):
        figures["accuracy"] = accuracy(args.quick)
    if args.part in ("all", "encoding"):
        figures["encoding"] = encoding(args.quick)
    for rows in figures.values():
        print(pd.DataFrame(rows).to_string(index=False, float_format="%.4f"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    if args.quick:
        return
    if "accuracy" in figures:
        write_records(
            "categorical_accuracy",
            "Group against elementwise input dropout on one-hot columns: "
            "5-fold accuracy over 3 seeds",
            figures["accuracy"],
        )
    if "encoding" in figures:
        write_records(
            "categorical_encoding",
            "Encoding time and peak memory, OneHotEncoder against the reference",
            figures["encoding"],
        )


if __name__ == "__main__":
    main()
