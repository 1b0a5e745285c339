"""Input dropout in a linear regression next to ridge regression.

Dropout at rate ``p`` on the inputs of a linear regression is, in expectation,
ridge regression with strength ``lam = p / (1 - p)`` on the data rescaled by
the root of the dropout penalty ``B``.  :func:`compare_with_ridge` shows that
identity at round-off, then compares dropout with the ridge people actually
fit (one alpha on standardized columns) at the same total penalty.
"""

from __future__ import annotations

from functools import partial
from numbers import Integral

import numpy as np
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params
from sklearn.utils.validation import check_array, column_or_1d

from ..linear_model import DropoutLinearRegression
from ..utils import check_dropout_grid, renamed_arguments, scoring_name
from ._comparison import check_same_rows, numeric_table, paired_cv_scores, rate_frame

_DEFAULT_DROPOUTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


class RidgeComparison(Bunch):
    """Result of :func:`compare_with_ridge`: a Bunch with a table view."""

    def to_frame(self):
        """One row per dropout rate.

        Returns
        -------
        frame : pandas.DataFrame
            The rate, ``lam``, the exact-equivalence check
            ``max_abs_coef_diff``, the matched ``ridge_alpha``, the mean and
            standard deviation of both cross-validated scores, and the
            coefficients of both models (``coef_<feature>`` for dropout,
            ``ridge_coef_<feature>`` for the ridge on standardized columns,
            both in the units of ``X``).
        """
        columns = {
            "max_abs_coef_diff": self.max_abs_coef_diff,
            "ridge_alpha": self.ridge_alpha,
        }
        return rate_frame(self, "ridge", columns, self.feature_names)


@renamed_arguments(dropouts="input_dropouts")
@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "input_dropouts": ["array-like", None],
        "feature_groups": [list, tuple, StrOptions({"from_names"}), None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def compare_with_ridge(
    X, y, *, input_dropouts=None, feature_groups=None, cv=5, scoring=None, n_jobs=None
):
    """Compare linear regression with input dropout to ridge regression.

    For each dropout rate ``p`` this fits the closed-form
    :class:`~skdrop.DropoutLinearRegression`, the ridge regression it equals
    exactly, and the plain :class:`~sklearn.linear_model.Ridge` on
    standardized columns with the same total penalty, and cross-validates the
    dropout model and the plain ridge on the same splits.  Read more in the
    :ref:`user guide <ridge_comparison>`.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric data; one-hot encode categorical columns first and pass their
        blocks as ``feature_groups``.
    y : array-like of shape (n_samples,)
        Target.
    input_dropouts : array-like of float, default=None
        Dropout rates in [0, 1); None is
        ``(0, 0.05, 0.1, 0.2, ..., 0.9, 0.95)``.  (``dropouts``, its name
        before 0.3, works until 0.4 with a ``FutureWarning``.)
    feature_groups : list of lists or "from_names", default=None
        Columns sharing one dropout mask, as in
        :class:`~skdrop.DropoutLinearRegression`.
    cv : int, cross-validation generator or iterable, default=5
        The splits, as in :func:`~sklearn.model_selection.cross_val_score`.
    scoring : str, callable or None, default=None
        One scorer; None is R^2.
    n_jobs : int, default=None
        Splits cross-validated in parallel with joblib.

    Returns
    -------
    result : Bunch
        With a ``to_frame()`` method (one row per rate) and the attributes
        below; ``n_rates`` is the number of rates.

        dropouts, lambdas : ndarray of shape (n_rates,)
            The rates and ``lam = p / (1 - p)``.
        coef : ndarray of shape (n_rates, n_features)
            Dropout coefficients, fitted on all rows; ``intercept`` the
            intercepts.
        equivalent_alpha : ndarray of shape (n_rates,)
            The alpha of the exactly equivalent ridge: ``lam`` itself.
        equivalent_transform : ndarray of shape (n_features, n_kept)
            ``T`` with ``T' B T = I``: ``Ridge(alpha=lam)`` fitted on ``X @ T``
            has coefficients ``v`` with ``T @ v`` equal to ``coef``.  Without
            groups it is diagonal, ``1 / sqrt(B_jj)``: each column divided by
            its root sum of squares (``equivalent_scale``, else None).
        equivalent_coef : ndarray of shape (n_rates, n_features)
            ``T @ v`` of that ridge.
        max_abs_coef_diff : ndarray of shape (n_rates,)
            Largest ``|equivalent_coef - coef|``: round-off, except at rate 0
            when the least-squares problem has no unique solution (collinear
            columns, such as a full one-hot block next to the intercept):
            then both are minimum-norm solutions in different coordinates.
        ridge_alpha : ndarray of shape (n_rates,)
            The alpha of a ``Ridge`` on standardized columns with the same
            total penalty: ``lam`` times the mean of ``B_jj / var_j`` (the
            trace of the dropout penalty in standardized units, spread
            evenly).  It is ``n_samples * lam`` for centered columns, where the
            two models coincide.
        alpha_per_lambda : float
            ``ridge_alpha / lam``.
        ridge_coef : ndarray of shape (n_rates, n_features)
            That ridge's coefficients in the units of ``X``;
            ``ridge_intercept`` its intercepts.
        feature_scale : ndarray of shape (n_features,)
            Column standard deviations: ``coef * feature_scale`` is in
            standardized units.
        dropout_cv_scores, ridge_cv_scores : ndarray of shape (n_rates, n_splits)
            Held-out scores per split; the ridge alpha is matched to the
            training part of each split.
        best_dropout, best_dropout_score : float
            The rate with the best mean score, and that score.
        ridgecv_alpha, ridgecv_score : float
            The alpha :class:`~sklearn.linear_model.RidgeCV` chooses among the
            matched alphas on standardized columns (same splits), and its mean
            score.
        ridgecv_dropout : float
            The dropout rate whose matched alpha that is.
        feature_names : ndarray of str
            Column names, or ``x0, x1, ...`` for an array.
        scoring : str
            The metric.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop.inspection import compare_with_ridge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> result = compare_with_ridge(X, y, input_dropouts=[0.1, 0.3, 0.5])
    >>> bool(result.max_abs_coef_diff.max() < 1e-8)
    True
    >>> frame = result.to_frame()
    >>> frame[["dropout", "lam", "ridge_alpha", "dropout_cv_mean"]].round(3)
       dropout    lam  ridge_alpha  dropout_cv_mean
    0      0.1  0.111       49.111            0.480
    1      0.3  0.429      189.429            0.465
    2      0.5  1.000      442.000            0.427
    """
    given = _DEFAULT_DROPOUTS if input_dropouts is None else input_dropouts
    rates = check_dropout_grid(given, "input_dropouts")
    X_frame, X_arr, names = numeric_table(X, "compare_with_ridge", "Ridge")
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=np.float64), warn=True)
    check_same_rows(X_arr, y)
    scorer = check_scoring(DropoutLinearRegression(), scoring)
    fits = _full_data_fits(X_frame, X_arr, y, rates, feature_groups)
    splits = list(check_cv(cv).split(X_arr, y))
    fit_pair = partial(_fit_pair, feature_groups=feature_groups)
    dropout_cv, ridge_cv = paired_cv_scores(
        X_frame, y, splits, rates, fit_pair, scorer, n_jobs
    )
    best = int(np.argmax(dropout_cv.mean(axis=1)))
    ridgecv_alpha, ridgecv_score = _ridge_cv(
        X_arr, y, fits.ridge_alpha, splits, scoring
    )
    return RidgeComparison(
        dropouts=rates,
        **fits,
        dropout_cv_scores=dropout_cv,
        ridge_cv_scores=ridge_cv,
        best_dropout=float(rates[best]),
        best_dropout_score=float(dropout_cv[best].mean()),
        ridgecv_alpha=ridgecv_alpha,
        ridgecv_score=ridgecv_score,
        ridgecv_dropout=float(ridgecv_alpha / (fits.alpha_per_lambda + ridgecv_alpha)),
        feature_names=np.asarray(names, dtype=object),
        scoring=scoring_name(scoring) or "r2",
    )


def _full_data_fits(X_frame, X_arr, y, rates, feature_groups):
    """The dropout models on all rows, their exact ridge twins, and the
    plain ridge on standardized columns at the same total penalty."""
    models = [
        DropoutLinearRegression(
            p, feature_groups=feature_groups, categorical_features=None
        ).fit(X_frame, y)
        for p in rates
    ]
    twins = [m.equivalent_ridge() for m in models]
    lambdas = np.array([alpha for alpha, _ in twins])
    T = twins[0][1]  # B, and so T, does not depend on the rate
    coef = np.array([m.coef_ for m in models])
    equivalent = np.array(
        [T @ Ridge(alpha=lam).fit(X_arr @ T, y).coef_ for lam in lambdas]
    )
    penalty = models[0].penalty_
    scaler = StandardScaler().fit(X_arr)
    scale = scaler.scale_
    alpha_per_lambda = _alpha_per_lambda(penalty, scale)
    ridge_alpha = lambdas * alpha_per_lambda
    ridges = [Ridge(alpha=a).fit(scaler.transform(X_arr), y) for a in ridge_alpha]
    ridge_coef = np.array([r.coef_ / scale for r in ridges])
    return Bunch(
        lambdas=lambdas,
        coef=coef,
        intercept=np.array([m.intercept_ for m in models]),
        equivalent_alpha=lambdas.copy(),
        equivalent_transform=T,
        equivalent_scale=(np.sqrt(penalty) if penalty.ndim == 1 else None),
        equivalent_coef=equivalent,
        max_abs_coef_diff=np.abs(equivalent - coef).max(axis=1),
        ridge_alpha=ridge_alpha,
        alpha_per_lambda=alpha_per_lambda,
        ridge_coef=ridge_coef,
        ridge_intercept=np.array(
            [
                r.intercept_ - scaler.mean_ @ c
                for r, c in zip(ridges, ridge_coef, strict=True)
            ]
        ),
        feature_scale=scale,
    )


def _ridge_cv(X_arr, y, ridge_alpha, splits, scoring):
    """The alpha RidgeCV picks among the matched ones, and its score."""
    positive = np.unique(ridge_alpha[ridge_alpha > 0])
    if not positive.size:
        return np.nan, np.nan
    ridgecv = make_pipeline(
        StandardScaler(), RidgeCV(alphas=positive, cv=splits, scoring=scoring)
    ).fit(X_arr, y)
    return float(ridgecv[-1].alpha_), float(ridgecv[-1].best_score_)


def _alpha_per_lambda(penalty, scale) -> float:
    """Mean of the dropout penalty's diagonal in standardized units."""
    diag = penalty if penalty.ndim == 1 else np.diag(penalty)
    return float(np.mean(diag / scale**2))


def _fit_pair(p, X_train, y_train, Xs_train, scale, *, feature_groups):
    """Dropout at rate ``p`` and the ridge on standardized columns with the
    same total penalty."""
    model = DropoutLinearRegression(
        p, feature_groups=feature_groups, categorical_features=None
    ).fit(X_train, y_train)
    alpha = model.equivalent_ridge()[0] * _alpha_per_lambda(model.penalty_, scale)
    return model, Ridge(alpha=alpha).fit(Xs_train, y_train)
