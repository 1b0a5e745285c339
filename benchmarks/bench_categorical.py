"""Group vs elementwise vs no input dropout on real data with categorical columns.

Issue 4 asks for the figures, with no threshold: 5-fold cross-validated
accuracy of ``DropoutMLPClassifier`` with input dropout applied per one-hot
group (``categorical_features``), per encoded column (the same one-hot columns
as plain numeric inputs), and without input dropout, at the same rates.

Datasets: Palmer penguins (species from island, sex and the measurements) and
the Vega ``cars`` table (origin from the engine figures, with the number of
cylinders as a categorical feature).  Run ``python benchmarks/bench_categorical.py``.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdrop import DropoutMLPClassifier


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 seed, 30 epochs")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    seeds = [0] if args.quick else [0, 1, 2]
    epochs = 30 if args.quick else 200
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
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format="%.4f"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
