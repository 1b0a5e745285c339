"""``skdrop analyze``: does dropout help on this table, at which rates, and
which features matter?

:func:`analyze` runs the whole study on a DataFrame and returns the numbers
and the figures; :mod:`skdrop._report._html` writes them out.  Everything here uses
the public API of skdrop and scikit-learn.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline

from ..neural_network import (
    DropoutMLPClassifier,
    DropoutMLPClassifierCV,
    DropoutMLPRegressor,
    DropoutMLPRegressorCV,
)
from ._baselines import (
    _baselines,
    _figure,
    _logistic_comparison,
    _network_params,
    _numeric_preprocessing,
    _ridge_comparison,
)


class AnalysisError(ValueError):
    """Input the analysis cannot use; its message is meant for the user."""


@dataclass
class Analysis:
    """What :func:`analyze` found: numbers for ``results.json`` and figures."""

    task: str
    target: str
    n_rows: int
    numeric: list[str]
    categorical: list[str]
    input_rates: list[float]
    hidden_rates: list[float]
    grid_scores: np.ndarray  # (n_input, n_hidden) mean CV score
    best: dict
    scores: dict  # model name -> mean CV score
    scoring: str
    # original column -> mean, std, ci_low, ci_high, distinguishable
    importances: dict
    gaps: dict  # model label -> final generalization gap
    ridge: dict | None
    figures: dict = field(default_factory=dict)  # title -> matplotlib Figure
    # classification: dropout logistic regression against L2 logistic
    logistic: dict | None = None
    importance_confidence_level: float = 0.95
    # learned input dropout: keep probability per column, its Spearman
    # correlation with the importances, the columns ranked far apart
    relevance: dict | None = None
    # regression: held-out coverage and width of the chosen network's Monte
    # Carlo dropout prediction intervals
    intervals: dict | None = None

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "target": self.target,
            "n_rows": self.n_rows,
            "numeric_columns": self.numeric,
            "categorical_columns": self.categorical,
            "scoring": self.scoring,
            "chosen": self.best,
            "grid": {
                "input_dropout": self.input_rates,
                "hidden_dropout": self.hidden_rates,
                "mean_cv_score": self.grid_scores.tolist(),
            },
            "scores": self.scores,
            "generalization_gap": self.gaps,
            "importances": self.importances,
            "importance_confidence_level": self.importance_confidence_level,
            "learned_relevance": self.relevance,
            "ridge_comparison": self.ridge,
            "logistic_comparison": self.logistic,
            "prediction_intervals": self.intervals,
        }


def detect_task(y: pd.Series) -> str:
    """Classification for text, boolean or category targets, and for
    integers with few distinct values; regression otherwise."""
    if (
        isinstance(y.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(y)
        or not pd.api.types.is_numeric_dtype(y)
    ):
        return "classification"
    if pd.api.types.is_integer_dtype(y) and y.nunique() <= max(
        2, min(20, len(y) // 20)
    ):
        return "classification"
    return "regression"


def prepare(data: pd.DataFrame, target: str, task: str):
    """Check the table and split it into ``X``, ``y`` and the task."""
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise AnalysisError("the table is empty")
    if target not in data.columns:
        shown = ", ".join(map(str, list(data.columns)[:12]))
        raise AnalysisError(
            f"no column {target!r} in the table; the columns are {shown}"
        )
    data = data[data[target].notna()]
    if data.shape[0] < 10:
        raise AnalysisError(
            f"only {data.shape[0]} rows have a value for {target!r}; at least 10 "
            "are needed"
        )
    X = data.drop(columns=[target])
    if X.shape[1] == 0:
        raise AnalysisError(f"the table has no column besides the target {target!r}")
    y = data[target]
    if task == "auto":
        task = detect_task(y)
    if task == "classification":
        counts = y.astype(str).value_counts()
        if len(counts) < 2:
            raise AnalysisError(
                f"the target {target!r} has one class ({counts.index[0]!r}); "
                "classification needs at least two"
            )
        y = y.astype(str)
    else:
        try:
            y = pd.to_numeric(y).astype(float)
        except (TypeError, ValueError) as exc:
            raise AnalysisError(
                f"the target {target!r} is not numeric, so it cannot be a "
                "regression target; use --task classification"
            ) from exc
    for column in X.columns:
        if X[column].isna().all():
            X = X.drop(columns=[column])
    X.columns = [str(c) for c in X.columns]
    return X.reset_index(drop=True), y.reset_index(drop=True), task


def _is_categorical(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(
        column
    )


def _dropout_model(task, quick, seed, input_dropout=0.0, hidden_dropout=0.0):
    params = _network_params(quick, seed)
    params.update(input_dropout=input_dropout, hidden_dropout=hidden_dropout)
    network = (
        DropoutMLPClassifier(**params)
        if task == "classification"
        else DropoutMLPRegressor(**params)
    )
    # The regressor standardizes its target itself (target_scaling).
    return make_pipeline(_numeric_preprocessing(), network)


def _network(model):
    """The network at the end of a dropout model's pipeline (the regressor
    scales its target itself: no TransformedTargetRegressor around it)."""
    return model[-1]


def analyze(
    data: pd.DataFrame,
    target: str,
    *,
    task: str = "auto",
    cv: int = 5,
    n_jobs: int | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> Analysis:
    """Search dropout rates, fit baselines and rate the features of a table.

    The figures are :class:`matplotlib.figure.Figure` objects outside pyplot:
    the process's matplotlib backend and pyplot's figures are left alone.
    """
    X, y, task = prepare(data, target, task)
    classification = task == "classification"
    if classification and y.value_counts().min() < cv:
        raise AnalysisError(
            f"the rarest class of {target!r} has {y.value_counts().min()} rows, "
            f"fewer than the {cv} CV folds; lower --cv"
        )
    splitter = (StratifiedKFold if classification else KFold)(
        cv, shuffle=True, random_state=seed
    )
    study = _Study(task, X, y, list(splitter.split(X, y)), quick, seed, n_jobs)
    categorical = [c for c in X.columns if _is_categorical(X[c])]
    _categorical_as_text(X, categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid = _grid_search(study, progress)
        best = grid["best"]
        scores = {
            "dropout MLP (best rates)": best["cv_score"],
            "MLP without dropout": float(grid["scores"][0, 0]),
        }
        scores.update(_baselines(study, progress))
        figures = {"CV score by dropout rates": _heatmap(grid, study.scoring)}
        gaps, figures["Loss curves"] = _loss_curves(study, best)
        ridge = logistic = intervals = None
        if classification:
            logistic, figures["Dropout against L2 logistic regression"] = (
                _logistic_comparison(study)
            )
        else:
            intervals, figures["Prediction interval calibration"] = (
                _interval_calibration(study, best)
            )
            ridge, figures["Dropout against ridge"] = _ridge_comparison(study)
        ablation, figures["Feature importance"] = _importances(study, best, progress)
        relevance, figures["Learned input dropout against ablation"] = _relevance(
            study, best, ablation
        )
    return Analysis(
        task=task,
        target=target,
        n_rows=len(y),
        numeric=[c for c in X.columns if c not in categorical],
        categorical=categorical,
        input_rates=grid["input_rates"],
        hidden_rates=grid["hidden_rates"],
        grid_scores=grid["scores"],
        best=best,
        scores=scores,
        scoring=study.scoring,
        importances=_importance_table(ablation),
        gaps=gaps,
        ridge=ridge,
        logistic=logistic,
        figures=figures,
        importance_confidence_level=ablation.confidence_level,
        relevance=relevance,
        intervals=intervals,
    )


@dataclass
class _Study:
    """The data, the splits and the settings every step of the study shares."""

    task: str
    X: pd.DataFrame
    y: pd.Series
    splits: list
    quick: bool
    seed: int
    n_jobs: int | None

    @property
    def scoring(self) -> str:
        return "accuracy" if self.task == "classification" else "r2"

    def model(self, input_dropout=0.0, hidden_dropout=0.0):
        return _dropout_model(
            self.task, self.quick, self.seed, input_dropout, hidden_dropout
        )


def _categorical_as_text(X, categorical):
    """Categorical columns as text (object dtype, NaN where missing), what
    both the estimators' encoding and OneHotEncoder take; in place."""
    for c in categorical:
        missing = X[c].isna().to_numpy()
        text = X[c].astype(str).to_numpy(dtype=object)
        text[missing] = np.nan
        X[c] = pd.Series(text, index=X.index, dtype=object)


def _grid_search(study, progress):
    """Mean CV score of the dropout network over input x hidden rates: every
    (rates, fold) network of the grid trained side by side by the CV
    estimator, on the study's folds."""
    input_rates = [0.0, 0.2] if study.quick else [0.0, 0.1, 0.2, 0.3]
    hidden_rates = [0.0, 0.5] if study.quick else [0.0, 0.25, 0.5]
    params = _network_params(study.quick, study.seed)
    cls = (
        DropoutMLPClassifierCV
        if study.task == "classification"
        else DropoutMLPRegressorCV
    )
    search = cls(
        **params,
        input_dropouts=input_rates,
        hidden_dropouts=hidden_rates,
        cv=study.splits,
        scoring=study.scoring,
        verbose=progress,
    )
    # The imputer and scaler learn from every row here, the baselines from
    # each training fold: medians and standard deviations leak next to
    # nothing, and one pipeline lets the grid train as one batched model.
    make_pipeline(_numeric_preprocessing(), search).fit(study.X, study.y)
    scores = search.cv_results_["mean_test_score"].reshape(
        len(input_rates), len(hidden_rates)
    )
    i, j = np.unravel_index(int(np.nanargmax(scores)), scores.shape)
    best = {
        "input_dropout": input_rates[i],
        "hidden_dropout": hidden_rates[j],
        "cv_score": float(scores[i, j]),
    }
    return {
        "input_rates": input_rates,
        "hidden_rates": hidden_rates,
        "scores": scores,
        "best": best,
    }


def _loss_curves(study, best):
    """The generalization gaps of the best and the plain network, and their
    loss curves drawn."""
    from ..inspection import LossCurveDisplay, loss_curves

    rates = (best["input_dropout"], best["hidden_dropout"])
    label = f"input {rates[0]:g}, hidden {rates[1]:g}"
    fitted = {
        label: study.model(*rates).fit(study.X, study.y),
        "no dropout": study.model().fit(study.X, study.y),
    }
    result = loss_curves({name: _network(m) for name, m in fitted.items()})
    display = LossCurveDisplay.from_results(result, ax=_figure(7.0, 4.5).subplots())
    display.ax_.set_title("training and validation loss")
    return dict(result.gaps), display.figure_


def _importances(study, best, progress):
    """Ablation importance of each column for the best network, and its plot.

    The baseline and the refits of a split share a seed drawn from the
    study's (common random numbers), so the seed noise of the network
    cancels in part; one pass over the study's splits, as another repeat
    would double the slowest step of the study.
    """
    from ..inspection import AblationImportanceDisplay, ablation_importance

    ablation = ablation_importance(
        study.model(best["input_dropout"], best["hidden_dropout"]),
        study.X,
        study.y,
        cv=study.splits,
        scoring=study.scoring,
        n_jobs=study.n_jobs,
        random_state=study.seed,
        verbose=progress,
    )
    ax = _figure(7.0, 1.2 + 0.32 * len(ablation.feature_names)).subplots()
    display = AblationImportanceDisplay.from_results(ablation, ax=ax)
    display.ax_.set_title("ablation importance (refit without each column)")
    return ablation, display.figure_


def _relevance(study, best, ablation):
    """What learned input dropout says about each column: one fit of the
    chosen network with ``input_dropout="learned"`` on every row, set beside
    the ablation importances, and its plot."""
    from ..inspection import DropoutRelevanceDisplay, dropout_relevance

    model = study.model("learned", best["hidden_dropout"]).fit(study.X, study.y)
    relevance = dropout_relevance(model)
    display = DropoutRelevanceDisplay.from_results(
        relevance, ablation, ax=_figure(7.0, 5.0).subplots()
    )
    display.ax_.set_title(
        "learned input keep probability against ablation importance "
        f"(Spearman {display.rank_correlation_:.2f})"
    )
    keep = dict(
        zip(map(str, relevance.feature_names), relevance.keep_probability, strict=True)
    )
    table = {
        "keep_probability": {
            str(n): float(keep[str(n)]) for n in ablation.feature_names
        },
        "spearman": float(display.rank_correlation_),
        "ranked_far_apart": list(display.disagreements_),
    }
    return table, display.figure_


# The nominal coverages whose observed coverage and width the report states;
# the figure draws 0.05, 0.10, ..., 0.95.
INTERVAL_LEVELS = (0.5, 0.9, 0.95)


def _interval_calibration(study, best):
    """How often the chosen network's Monte Carlo dropout prediction
    intervals hold held-out rows, and its calibration curve drawn.

    The chosen pipeline is fitted on the training rows of the study's first
    split (quick) or of each split, and predicts its test rows with
    ``predict(X, return_std=True)``: the mean and the total standard
    deviation of 50 Monte Carlo passes, the noise variance included, which
    ``DropoutMLPRegressor`` estimates on its early-stopping validation rows.
    The intervals are those of ``predict_interval``, ``mean -/+ z * std``.
    The grid's fold networks cannot serve: the CV estimator's members carry
    no noise variance.
    """
    from sklearn.utils.parallel import Parallel, delayed

    from ..metrics import IntervalCalibrationDisplay

    rates = (best["input_dropout"], best["hidden_dropout"])
    splits = study.splits[:1] if study.quick else study.splits
    X, y = study.X, study.y.to_numpy()
    parts = Parallel(n_jobs=study.n_jobs)(
        delayed(_held_out_moments)(study.model(*rates), X, y, train, test)
        for train, test in splits
    )
    rows = np.concatenate([test for _, test in splits])
    mean = np.concatenate([m for m, _, _ in parts])
    std = np.concatenate([s for _, s, _ in parts])
    noise = np.concatenate([np.full(len(s), v) for _, s, v in parts])
    display = IntervalCalibrationDisplay.from_predictions(
        y[rows],
        mean,
        std,
        ax=_figure(5.0, 5.0).subplots(),
        name=f"input {rates[0]:g}, hidden {rates[1]:g}",
    )
    display.ax_.set_title("held-out coverage of MC dropout intervals")
    levels = {}
    for level in INTERVAL_LEVELS:
        (k,) = np.flatnonzero(np.isclose(display.nominal, level))
        levels[f"{level:g}"] = {
            "coverage": float(display.observed[k]),
            "mean_width": float(display.mean_width[k]),
        }
    variance = std**2
    summary = {
        "levels": levels,
        "n_held_out": len(rows),
        "n_splits": len(splits),
        "target_std": float(np.std(y[rows])),
        # The share of the predictive variance that is the dropout (model)
        # part, the rest being the estimated noise variance.
        "model_variance_share": float(
            np.clip(np.sum(variance - noise) / np.sum(variance), 0.0, 1.0)
        ),
        "calibration_curve": {
            "nominal": display.nominal.tolist(),
            "observed": display.observed.tolist(),
            "mean_width": display.mean_width.tolist(),
        },
    }
    return summary, display.figure_


def _held_out_moments(model, X, y, train, test):
    """The predictive mean and total std of ``model`` fitted on the ``train``
    rows, on the ``test`` rows, and its noise variance."""
    model.fit(X.iloc[train], y[train])
    mean, std = model.predict(X.iloc[test], return_std=True)
    return mean, std, float(_network(model).noise_variance_[0])


def _importance_table(ablation) -> dict:
    """Each column's importance, its interval and whether it excludes 0."""
    return {
        str(name): {
            "mean": float(mean),
            "std": float(std),
            "ci_low": float(low),
            "ci_high": float(high),
            "distinguishable": bool(distinct),
        }
        for name, mean, std, (low, high), distinct in zip(
            ablation.feature_names,
            ablation.importances_mean,
            ablation.importances_std,
            ablation.importances_ci,
            ablation.distinguishable,
            strict=True,
        )
    }


def _heatmap(grid, scoring):
    scores = grid["scores"]
    input_rates, hidden_rates = grid["input_rates"], grid["hidden_rates"]
    fig = _figure(1.6 + 1.1 * len(hidden_rates), 1.2 + 0.8 * len(input_rates))
    ax = fig.subplots()
    image = ax.imshow(scores, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(hidden_rates)), labels=[f"{p:g}" for p in hidden_rates])
    ax.set_yticks(range(len(input_rates)), labels=[f"{p:g}" for p in input_rates])
    ax.set_xlabel("hidden_dropout")
    ax.set_ylabel("input_dropout")
    best = np.unravel_index(int(np.argmax(scores)), scores.shape)
    for (r, c), value in np.ndenumerate(scores):
        weight = "bold" if (r, c) == best else "normal"
        ax.text(
            c,
            r,
            f"{value:.3f}",
            ha="center",
            va="center",
            color="white",
            fontweight=weight,
        )
    fig.colorbar(image, ax=ax, label=f"mean CV {scoring}")
    ax.set_title("CV score by dropout rates")
    return fig
