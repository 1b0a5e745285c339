"""The models ``skdrop analyze`` sets beside the dropout networks: the
preprocessing they share, the tuned scikit-learn baselines and the dropout
linear contenders, and the comparisons of dropout with ridge and with L2
logistic regression."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import LinAlgWarning
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.compose import make_column_selector as selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..linear_model import DropoutLinearRegressionCV, DropoutLogisticRegressionCV
from ..utils import one_hot_groups, progress_bar


def _preprocessing(categorical):
    """Impute and scale the numeric columns, ``categorical`` the others.

    Columns are chosen by dtype, so a pipeline still fits with a column
    removed (ablation).
    """
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return ColumnTransformer(
        [
            ("num", numeric, selector(dtype_include="number")),
            ("cat", categorical, selector(dtype_exclude="number")),
        ],
        verbose_feature_names_out=False,
    )


def _numeric_preprocessing():
    """Categorical columns go to the estimator as text, which one-hot
    encodes them itself and drops each as one group."""
    return _preprocessing("passthrough").set_output(transform="pandas")


def _one_hot_preprocessing():
    """Categorical columns one-hot encoded, for scikit-learn's models."""
    return _preprocessing(
        make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
    )


def _scaled_target(model):
    return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())


def _network_params(quick, seed):
    """The architecture and training settings every network here shares, so
    the dropout networks and scikit-learn's MLP differ only in regularization."""
    return dict(
        hidden_layer_sizes=(64,) if quick else (64, 64),
        early_stopping=True,
        n_iter_no_change=20,
        max_iter=300 if quick else 500,
        learning_rate_init=3e-3,
        random_state=seed,
    )


def _figure(width, height):
    """A figure outside pyplot: no backend or global figure list involved."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _baselines(study, progress):
    """The models a user would compare against, each tuned on the same splits."""
    task, X, y, splits = study.task, study.X, study.y, study.splits
    scoring, quick, seed, n_jobs = study.scoring, study.quick, study.seed, study.n_jobs
    classification = task == "classification"
    mlp = (MLPClassifier if classification else MLPRegressor)(
        **_network_params(quick, seed)
    )
    linear = (
        (LogisticRegression(max_iter=2000), "C", [0.01, 0.1, 1.0, 10.0])
        if classification
        else (Ridge(), "alpha", [0.01, 0.1, 1.0, 10.0, 100.0])
    )
    candidates = {
        f"scikit-learn {type(mlp).__name__} (tuned alpha)": (
            mlp,
            "alpha",
            [1e-4, 1e-1] if quick else [1e-4, 1e-2, 1.0],
        ),
        f"{type(linear[0]).__name__} (tuned {linear[1]})": (
            linear[0],
            linear[1],
            linear[2][1::2] if quick else linear[2],
        ),
    }
    out = {}
    for name, (model, param, values) in progress_bar(
        candidates.items(), verbose=progress, desc="baselines", unit="model"
    ):
        pipe = make_pipeline(_one_hot_preprocessing(), model)
        key = f"{pipe.steps[-1][0]}__{param}"
        if task == "regression":
            pipe = _scaled_target(pipe)
            key = f"regressor__{key}"
        search = GridSearchCV(
            pipe, {key: values}, cv=splits, scoring=scoring, n_jobs=n_jobs
        )
        out[name] = float(search.fit(X, y).best_score_)
    # The dropout linear contender: its rate tuned inside each training fold
    # (nested), on the study's metric as the baselines' settings are.
    if task == "regression":
        name, contender = "DropoutLinearRegressionCV", DropoutLinearRegressionCV()
    else:
        name = "DropoutLogisticRegressionCV"
        # Its default grid reaches down to rate 0.001: on large or easy
        # tables the best rate can be far below 0.05.
        grid = {"input_dropouts": _LOGISTIC_QUICK_RATES} if quick else {}
        contender = DropoutLogisticRegressionCV(scoring=scoring, **grid)
    linear = make_pipeline(_numeric_preprocessing(), contender)
    out[name] = float(
        cross_val_score(linear, X, y, cv=splits, scoring=scoring, n_jobs=n_jobs).mean()
    )
    return out


# Rates of the dropout logistic regression against L2 (the figure), and of the
# contender in a quick study.
_LOGISTIC_RATES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_LOGISTIC_QUICK_RATES = (0.01, 0.1, 0.4, 0.8)


def _ridge_comparison(study):
    """Dropout against ridge on the one-hot encoded table, summed up and drawn."""
    from ..inspection import compare_with_ridge

    X, y, splits = study.X, study.y, study.splits
    design, groups = _one_hot_design(X)
    with warnings.catch_warnings():
        # Without dropout a full one-hot block is collinear with the
        # intercept: the minimum-norm solution is the expected answer there.
        warnings.simplefilter("ignore", LinAlgWarning)
        result = compare_with_ridge(
            design, y.to_numpy(), feature_groups=groups or None, cv=splits
        )
    summary = {
        "best_dropout": result.best_dropout,
        "best_dropout_score": result.best_dropout_score,
        "ridgecv_alpha": result.ridgecv_alpha,
        "ridgecv_score": result.ridgecv_score,
        "ridgecv_equivalent_dropout": result.ridgecv_dropout,
        # At rate 0 with a full one-hot block the problem has no unique
        # solution, and the two minimum-norm answers differ legitimately.
        "max_abs_coef_diff_positive_rates": float(
            np.max(result.max_abs_coef_diff[result.dropouts > 0])
        ),
    }
    return summary, _comparison_figure(result)


def _one_hot_design(X):
    """The table one-hot encoded (a DataFrame) and its one-hot blocks, as
    column indices, for the dropout comparisons."""
    encoder = _one_hot_preprocessing().set_output(transform="pandas").fit(X)
    groups = [g for g in one_hot_groups(encoder) if len(g) > 1]
    return encoder.transform(X), groups


def _logistic_comparison(study):
    """Dropout logistic regression against L2 logistic regression on the
    one-hot encoded table, summed up and drawn.  Scored by log loss: the
    penalty sets how confident the probabilities are, which accuracy barely
    sees."""
    from ..inspection import compare_with_logistic

    X, y = study.X, study.y
    design, groups = _one_hot_design(X)
    result = compare_with_logistic(
        design,
        y.to_numpy(),
        input_dropouts=_LOGISTIC_QUICK_RATES if study.quick else _LOGISTIC_RATES,
        feature_groups=groups or None,
        cv=study.splits,
        n_jobs=study.n_jobs,
    )
    summary = {
        "scoring": result.scoring,
        "best_dropout": result.best_dropout,
        "best_dropout_score": result.best_dropout_score,
        "l2cv_C": result.l2cv_C,
        "l2cv_score": result.l2cv_score,
        "l2cv_equivalent_dropout": result.l2cv_dropout,
        "matched_C": dict(
            zip(map(str, result.dropouts.tolist()), result.l2_C.tolist(), strict=True)
        ),
    }
    return summary, _comparison_figure(result)


def _comparison_figure(result):
    """Either comparison drawn: coefficient paths and scores side by side."""
    from ..inspection import RidgeComparisonDisplay

    axes = _figure(11.0, 4.2).subplots(1, 2)
    return RidgeComparisonDisplay.from_results(result, ax=axes).figure_
