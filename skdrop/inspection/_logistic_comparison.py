"""Input dropout in a logistic regression next to L2-penalized logistic
regression.

Unlike the linear case, dropout in a logistic regression is not a plain L2
penalty in any coordinates: to second order it is Wager et al.'s *adaptive*
penalty, whose weight on each feature depends on the fitted probabilities.
So there is no exact twin to show at round-off, and :func:`compare_with_ridge`
(whose first result is that identity) stays a regression tool; this module's
:func:`compare_with_logistic` does the second half of its job for
classifiers: dropout against the L2 model people fit, at the same total
penalty and at its own cross-validated strength.
"""

from __future__ import annotations

from functools import partial
from numbers import Integral

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import GridSearchCV, check_cv
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ..linear_model import DropoutLogisticRegression, algorithm_settings
from ..utils import (
    DEPRECATED,
    DEPRECATED_OPTION,
    check_dropout_grid,
    renamed_arguments,
    scoring_name,
)
from ._comparison import check_same_rows, numeric_table, paired_cv_scores, rate_frame

# Rate 0 is left out: without a penalty a separable table has no finite fit.
_DEFAULT_DROPOUTS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class LogisticComparison(Bunch):
    """Result of :func:`compare_with_logistic`: a Bunch with a table view."""

    def to_frame(self):
        """One row per dropout rate.

        Returns
        -------
        frame : pandas.DataFrame
            The rate, ``lam``, the matched ``l2_C`` and ``l2_alpha = 1 /
            l2_C``, the mean and standard deviation of both cross-validated
            scores, and the coefficients of both models in the units of
            ``X`` (``coef_<feature>`` for dropout and ``l2_coef_<feature>``
            for the L2 model; with more than two classes
            ``coef_<class>_<feature>``).
        """
        names = [str(n) for n in self.feature_names]
        if self.coef.shape[1] > 1:
            names = [f"{c}_{n}" for c in self.classes for n in names]
        columns = {"l2_C": self.l2_C, "l2_alpha": self.l2_alpha}
        return rate_frame(self, "l2", columns, names)


@renamed_arguments(dropouts="input_dropouts")
@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "input_dropouts": ["array-like", None],
        "solver": [StrOptions({"lbfgs", "sgd"})],
        "approximation": [StrOptions({"gaussian", "quadratic"})],
        "feature_groups": [list, tuple, StrOptions({"from_names"}), None],
        "Cs": ["array-like", None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "objective": [StrOptions({"quadratic", "gaussian", "sgd"}), DEPRECATED_OPTION],
    },
    prefer_skip_nested_validation=True,
)
def compare_with_logistic(
    X,
    y,
    *,
    input_dropouts=None,
    solver="lbfgs",
    approximation="gaussian",
    feature_groups=None,
    Cs=None,
    cv=5,
    scoring=None,
    max_iter=1000,
    n_jobs=None,
    objective=DEPRECATED,
):
    """Compare logistic regression with input dropout to L2 logistic regression.

    The classification counterpart of :func:`compare_with_ridge`.  For each
    dropout rate ``p`` it fits :class:`~skdrop.DropoutLogisticRegression` and
    a :class:`~sklearn.linear_model.LogisticRegression` on standardized
    columns at the *matched* strength ``C`` (defined below), and
    cross-validates both on the same splits; then it tunes the L2 model's
    ``C`` by cross-validation on those splits, as a user would.  Read more in
    the :ref:`user guide <logistic_comparison>`.

    A separate function rather than a branch of :func:`compare_with_ridge`:
    for regression dropout *is* a ridge, and that function reports the exact
    twin at round-off; for classification no such twin exists, the matched
    strength depends on the fitted probabilities, and the coefficients have
    one row per class.  Both results draw with
    :class:`RidgeComparisonDisplay`.

    **Matched total penalty.**  To second order (Wager et al. 2013) the
    dropout objective is the loss plus ``lam/2 sum_j w_j' A_j w_j``,
    ``lam = p / (1 - p)``, with ``A_j = sum_i x_ij^2 H_i`` and ``H_i`` the
    curvature of the loss at row ``i``: ``pi_i (1 - pi_i)`` for two classes
    (one coefficient per feature, as in LogisticRegression), the softmax
    Hessian ``diag(pi_i) - pi_i pi_i'`` for more (``w_j`` holds feature
    ``j``'s coefficient of every class).  With the probabilities ``pi``
    frozen at the dropout solution this is a quadratic penalty.
    LogisticRegression's ``1/(2C) ||W||^2`` on standardized columns is the
    same penalty spread evenly; the matched ``C`` is the one whose penalty
    has the same trace (total curvature) per free coefficient, in
    standardized units::

        1 / C = lam * mean_j(tr(A_j) / s_j^2) / (K - 1)

    with ``s_j`` the standard deviation of column ``j``, ``K - 1 = 1`` for
    two classes and ``tr(A_j) = sum_i x_ij^2 (1 - sum_k pi_ik^2)`` for ``K >
    2`` classes (the softmax Hessian's trace lies in the ``K - 1``
    directions where the coefficients of the classes sum to zero, those both
    models use).  It is the rule of :func:`compare_with_ridge`, where
    ``H_i = 1``.  Groups of columns leave the trace unchanged: the dropout
    penalty of a group has the same diagonal as that of its columns dropped
    one by one.  ``x_ij`` are the values the dropout model is fitted on
    (uncentered), as dropout perturbs them.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric data; one-hot encode categorical columns first and pass
        their blocks as ``feature_groups``.
    y : array-like of shape (n_samples,)
        Class labels, at least two classes.
    input_dropouts : array-like of float, default=None
        Dropout rates in [0, 1); None is ``(0.05, 0.1, 0.2, ..., 0.9)``.  A
        rate 0 is matched with ``C = inf`` (no penalty).  (``dropouts``,
        its name before 0.3, works until 0.4 with a ``FutureWarning``.)
    solver : {"lbfgs", "sgd"}, default="lbfgs"
        The dropout model's algorithm, as in
        :class:`~skdrop.DropoutLogisticRegression`.
    approximation : {"gaussian", "quadratic"}, default="gaussian"
        The objective ``solver="lbfgs"`` minimizes, as in
        :class:`~skdrop.DropoutLogisticRegression`; the matched strength
        always uses the quadratic penalty at that model's probabilities.
    feature_groups : list of lists or "from_names", default=None
        Columns sharing one dropout mask, as in
        :class:`~skdrop.DropoutLogisticRegression`.
    Cs : array-like of float, default=None
        Values of ``C`` among which the L2 model's ``C`` is tuned by
        cross-validation; None takes the finite matched ``C`` of the rates,
        so the choice reads as a dropout rate (``l2cv_dropout``).
    cv : int, cross-validation generator or iterable, default=5
        The splits; an int is stratified k-fold.
    scoring : str, callable or None, default=None
        One scorer; None is ``"neg_log_loss"``, what
        :class:`~skdrop.DropoutLogisticRegressionCV` maximizes by default.
    max_iter : int, default=1000
        Iterations of both solvers.
    n_jobs : int, default=None
        Splits cross-validated in parallel with joblib.
    objective : {"quadratic", "gaussian", "sgd"}
        Deprecated since 0.3, removed in 0.4: the old name of ``solver``
        and ``approximation`` ("sgd" is ``solver="sgd"``, the others
        ``solver="lbfgs"`` with that approximation).

    Returns
    -------
    result : Bunch
        With a ``to_frame()`` method (one row per rate) and the attributes
        below; ``n_rates`` is the number of rates and ``n_rows`` is 1 for two
        classes, else the number of classes.

        dropouts, lambdas : ndarray of shape (n_rates,)
            The rates and ``lam = p / (1 - p)``.
        coef : ndarray of shape (n_rates, n_rows, n_features)
            Dropout coefficients, fitted on all rows; ``intercept`` (shape
            ``(n_rates, n_rows)``) the intercepts.
        penalty_weights : ndarray of shape (n_rates, n_features)
            ``lam tr(A_j) / s_j^2 / (K - 1)``: the dropout penalty's mean
            curvature on each standardized feature.  Uneven across features,
            where L2 puts the same ``1 / C`` on each.
        l2_alpha, l2_C : ndarray of shape (n_rates,)
            The matched L2 strength: ``l2_alpha`` is the mean of
            ``penalty_weights`` and ``l2_C = 1 / l2_alpha``.
        l2_coef : ndarray of shape (n_rates, n_rows, n_features)
            The matched LogisticRegression's coefficients in the units of
            ``X``; ``l2_intercept`` its intercepts.
        feature_scale : ndarray of shape (n_features,)
            Column standard deviations: ``coef * feature_scale`` is in
            standardized units.
        dropout_cv_scores, l2_cv_scores : ndarray of shape (n_rates, n_splits)
            Held-out scores per split; the L2 strength is matched on the
            training part of each split.
        best_dropout, best_dropout_score : float
            The rate with the best mean score, and that score.
        l2cv_C, l2cv_score : float
            The ``C`` that cross-validation chooses for the L2 model on
            standardized columns (same splits and scorer), and its mean
            score.
        l2cv_dropout : float
            The rate whose matched ``C`` that is; NaN when ``Cs`` is given.
        classes : ndarray
            The class labels.
        feature_names : ndarray of str
            Column names, or ``x0, x1, ...`` for an array.
        scoring : str
            The metric.

    See Also
    --------
    compare_with_ridge : The same comparison for linear regression.
    RidgeComparisonDisplay : Draws either result.

    References
    ----------
    S. Wager, S. Wang and P. Liang, "Dropout training as adaptive
    regularization", NeurIPS 2013.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop.inspection import compare_with_logistic
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X[:, :8])
    >>> result = compare_with_logistic(X, y, input_dropouts=[0.1, 0.3, 0.6], cv=3)
    >>> result.coef.shape
    (3, 1, 8)
    >>> frame = result.to_frame()
    >>> frame[["dropout", "l2_alpha", "dropout_cv_mean", "l2_cv_mean"]].round(3)
       dropout  l2_alpha  dropout_cv_mean  l2_cv_mean
    0      0.1     1.262           -0.168      -0.168
    1      0.3     5.307           -0.165      -0.168
    2      0.6    28.250           -0.178      -0.196
    """
    algorithm = algorithm_settings(
        "compare_with_logistic", solver, approximation, objective, stacklevel=4
    )
    given = _DEFAULT_DROPOUTS if input_dropouts is None else input_dropouts
    rates = check_dropout_grid(given, "input_dropouts")
    X_frame, X_arr, names = numeric_table(
        X, "compare_with_logistic", "LogisticRegression"
    )
    y = column_or_1d(np.asarray(y), warn=True)
    check_same_rows(X_arr, y)
    check_classification_targets(y)
    classes = np.unique(y)
    if classes.size < 2:
        raise ValueError(
            f"compare_with_logistic needs at least 2 classes in y, got only "
            f"{classes.tolist()[0]!r}"
        )
    grid = None if Cs is None else _check_Cs(Cs)
    scorer = check_scoring(
        DropoutLogisticRegression(),
        "neg_log_loss" if scoring is None else scoring,
    )
    settings = dict(**algorithm, feature_groups=feature_groups, max_iter=max_iter)
    fits = _full_data_fits(X_frame, X_arr, y, rates, settings)
    splits = list(check_cv(cv, y, classifier=True).split(X_arr, y))
    fit_pair = partial(_fit_pair, n_classes=classes.size, settings=settings)
    dropout_cv, l2_cv = paired_cv_scores(
        X_frame, y, splits, rates, fit_pair, scorer, n_jobs
    )
    best = int(np.argmax(dropout_cv.mean(axis=1)))
    finite = np.unique(fits.l2_C[np.isfinite(fits.l2_C)])
    candidates = finite if grid is None else grid
    l2cv_C, l2cv_score = _l2_cv(X_arr, y, candidates, splits, scorer, max_iter)
    l2cv_dropout = np.nan
    if grid is None and np.isfinite(l2cv_C):
        l2cv_dropout = float(rates[np.flatnonzero(fits.l2_C == l2cv_C)[0]])
    return LogisticComparison(
        dropouts=rates,
        **fits,
        dropout_cv_scores=dropout_cv,
        l2_cv_scores=l2_cv,
        best_dropout=float(rates[best]),
        best_dropout_score=float(dropout_cv[best].mean()),
        l2cv_C=l2cv_C,
        l2cv_score=l2cv_score,
        l2cv_dropout=l2cv_dropout,
        classes=classes,
        feature_names=np.asarray(names, dtype=object),
        scoring=scoring_name(scoring) or "neg_log_loss",
        task="classification",
    )


def _check_Cs(Cs) -> np.ndarray:
    values = np.asarray(Cs, dtype=np.float64).ravel()
    bad = values[~(np.isfinite(values) & (values > 0))] if values.size else values
    if values.size == 0:
        raise ValueError("Cs must hold at least one value of C, got an empty list")
    if bad.size:
        raise ValueError(
            f"Cs must be finite and positive, got {float(bad[0])!r}; leave "
            "rate 0 out rather than pass C=inf"
        )
    return np.unique(values)


def _dropout_model(p, settings):
    return DropoutLogisticRegression(p, categorical_features=None, **settings)


def _matched_strength(model, X, n_classes):
    """The dropout penalty's mean curvature per standardized feature, from
    the public ``predict_proba`` of a fitted dropout model, and the column
    standard deviations (StandardScaler's, 1 for constant columns)."""
    p = model.input_dropout
    lam = p / (1.0 - p)
    proba = model.predict_proba(X)  # X as fitted: a DataFrame keeps its names
    X = np.asarray(X, dtype=np.float64)
    if n_classes == 2:
        curvature = proba[:, 1] * proba[:, 0]
        free = 1
    else:
        curvature = 1.0 - np.einsum("ik,ik->i", proba, proba)
        free = n_classes - 1
    scale = StandardScaler().fit(X).scale_
    trace = curvature @ (X * X)
    return lam * trace / scale**2 / free, scale


def _l2_model(C, max_iter):
    return LogisticRegression(C=C, max_iter=max_iter)


def _full_data_fits(X_frame, X_arr, y, rates, settings):
    """The dropout models on all rows and the matched L2 models."""
    n_classes = np.unique(y).size
    models = [_dropout_model(p, settings).fit(X_frame, y) for p in rates]
    weights = []
    for model in models:
        w, _ = _matched_strength(model, X_frame, n_classes)
        weights.append(w)
    weights = np.array(weights)
    alpha = weights.mean(axis=1)
    C = _inverse(alpha)
    scaler = StandardScaler().fit(X_arr)
    Xs = scaler.transform(X_arr)
    l2 = [_l2_model(c, settings["max_iter"]).fit(Xs, y) for c in C]
    l2_coef = np.array([m.coef_ / scaler.scale_ for m in l2])
    l2_intercept = np.array(
        [m.intercept_ - c @ scaler.mean_ for m, c in zip(l2, l2_coef, strict=True)]
    )
    return Bunch(
        lambdas=rates / (1.0 - rates),
        coef=np.array([m.coef_ for m in models]),
        intercept=np.array([m.intercept_ for m in models]),
        penalty_weights=weights,
        l2_alpha=alpha,
        l2_C=C,
        l2_coef=l2_coef,
        l2_intercept=l2_intercept,
        feature_scale=scaler.scale_,
    )


def _inverse(alpha):
    with np.errstate(divide="ignore"):
        return np.where(alpha > 0, 1.0 / np.where(alpha > 0, alpha, 1.0), np.inf)


def _fit_pair(p, X_train, y_train, Xs_train, scale, *, n_classes, settings):
    """Dropout at rate ``p`` and the L2 model on standardized columns at
    its matched strength."""
    del scale  # the matched strength standardizes by itself
    if np.unique(y_train).size != n_classes:
        raise ValueError(
            f"a training split holds {np.unique(y_train).size} of the "
            f"{n_classes} classes; use fewer folds or a stratified cv"
        )
    model = _dropout_model(p, settings).fit(X_train, y_train)
    weights, _ = _matched_strength(model, X_train, n_classes)
    C = float(_inverse(np.array([weights.mean()]))[0])
    return model, _l2_model(C, settings["max_iter"]).fit(Xs_train, y_train)


def _l2_cv(X_arr, y, Cs, splits, scorer, max_iter):
    """The C that cross-validation picks for L2 logistic regression on
    standardized columns, and its mean score."""
    if not len(Cs):
        return np.nan, np.nan
    search = GridSearchCV(
        make_pipeline(StandardScaler(), _l2_model(1.0, max_iter)),
        {"logisticregression__C": list(Cs)},
        cv=splits,
        scoring=scorer,
    ).fit(X_arr, y)
    return (
        float(search.best_params_["logisticregression__C"]),
        float(search.best_score_),
    )
