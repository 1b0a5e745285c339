"""Linear regression trained with input dropout."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.model_selection import GridSearchCV, check_cv
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import (
    atomic_fit,
    check_device_name,
    check_dropout_grid,
    check_magnitude,
    numeric_target,
    validate_X,
)
from ._base import (
    INPUT_CONSTRAINTS,
    RATE_CONSTRAINTS,
    SGD_CONSTRAINTS,
    LinearDropoutBase,
    as_columns,
    check_split_weights,
    drop_column_models,
    loo_scores,
)
from ._closed_form import (
    build_system,
    dropout_lambda,
    loo_residuals,
    penalty_root_inverse,
    solve_system,
    uncentered_penalty,
)

_DEFAULT_DROPOUTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


class _LinearRegression:
    """The regression side of the two linear estimators: numeric, possibly
    multi-output targets, the solution in scikit-learn's layout, and
    prediction (with :class:`LinearDropoutBase` after it)."""

    _target_checks: ClassVar[dict] = {"multi_output": True, "y_numeric": True}

    def _check_target(self, y, limit, why):
        y = numeric_target(y, type(self).__name__)
        check_magnitude(y, "y", limit, why)
        return y

    def _set_solution(self, coef, intercept, penalty, single_target):
        """Store coefficients in scikit-learn's layout (targets first)."""
        coef = coef.T
        self.coef_ = coef[0] if single_target else coef
        self.intercept_ = float(intercept[0]) if single_target else intercept
        self.penalty_ = penalty

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = validate_X(self, X, dtype=np.float64, reset=False)
        with np.errstate(over="ignore", invalid="ignore"):
            y_pred = X @ self.coef_.T + self.intercept_
        if not np.isfinite(y_pred).all():
            bad = ~np.isfinite(y_pred.reshape(X.shape[0], -1)).all(axis=1)
            raise FloatingPointError(
                f"The prediction overflows float64 (inf or NaN) for "
                f"{int(bad.sum())} input row(s): their values are too large "
                "for the fitted coefficients (the largest |X| is "
                f"{float(np.abs(X).max()):.3g})."
            )
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class DropoutLinearRegression(RegressorMixin, _LinearRegression, LinearDropoutBase):
    """Linear regression trained with dropout on its inputs.

    Each input entry is dropped with probability ``dropout`` and the kept ones
    are scaled by ``1 / (1 - dropout)`` (inverted dropout).  The expected
    squared loss has a closed form (Srivastava et al. 2014, section 9.1)::

        ||y - b - X w||^2 + lam * w' B w,    lam = dropout / (1 - dropout)

    with ``B = diag(X' S X)`` of the uncentered, weighted data, or its block
    version when columns share a mask (``feature_groups``).  The default
    solver minimizes it exactly; ``solver="sgd"`` trains with real random
    masks and converges to the same coefficients, so the two check each
    other.  Read more in the :ref:`user guide <linear_dropout>`.

    Parameters
    ----------
    dropout : float, default=0.2
        Probability of dropping each input, in [0, 1).  0.2 is the 80%
        retention that Srivastava et al. recommend for real-valued inputs.
    feature_groups : list of lists, default=None
        Columns that share one dropout mask per row, as lists of column
        indices (or column names when fitting on a DataFrame), for instance
        the one-hot columns of one categorical feature.  Groups must not
        overlap; columns in no group are dropped on their own.  The penalty
        becomes ``lam * sum_g w_g' (X_g' S X_g) w_g``.
    categorical_features : "from_dtype", list of str or int, bool mask or None, \
default="from_dtype"
        Columns the estimator one-hot encodes itself (pandas ``category``,
        ``object`` and string columns with "from_dtype"); each encoded block
        is one group of the block penalty, and ``coef_`` has one entry per
        encoded column.  Unseen categories and missing values encode to an
        all-zero block.  See :ref:`categorical_features`.
    max_categories : int, default=None
        At most this many encoded columns per categorical feature; rarer
        levels share one column.
    fit_intercept : bool, default=True
        Whether to fit an intercept.  The intercept is never dropped nor
        penalized.
    solver : {"closed_form", "sgd"}, default="closed_form"
        ``"closed_form"`` solves the marginalized objective with a Cholesky
        factorization (a minimum-norm least-squares solve, with a
        ``LinAlgWarning``, where the system is singular).  ``"sgd"`` runs
        mini-batch SGD in torch with fresh masks at every step, a decaying
        step and iterate averaging.
    max_iter : int, default=2000
        Maximum number of epochs (``solver="sgd"``).
    batch_size : int or "auto", default="auto"
        Mini-batch size (``solver="sgd"``); ``"auto"`` is
        ``min(200, n_samples)``.
    learning_rate_init : float, default=0.5
        Initial step as a fraction of ``1 / L``, where ``L`` is the largest
        curvature of the expected loss, estimated before training
        (``solver="sgd"``).  Values above 1 may diverge.
    tol : float, default=1e-2
        Training stops once the relative standard error of the averaged
        coefficients, estimated by batch means, is below ``tol``
        (``solver="sgd"``); ``tol=0`` runs all ``max_iter`` epochs.  The
        estimate neglects the correlation between batches, so the actual
        relative error to the closed form is about ``tol`` and occasionally a
        few times larger.  The mask noise makes the error shrink like
        ``1 / sqrt(rows seen)``: halving it takes about four times the epochs.
    random_state : int, RandomState instance or None, default=None
        Seeds the masks and the shuffling (``solver="sgd"``).  Global random
        state is never used.
    device : str, default="cpu"
        Torch device for ``solver="sgd"``: ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, ``"mps"`` or ``"auto"``.  The closed form runs in numpy
        (but still rejects a name that is not one of these).
    verbose : bool, default=False
        Show a progress bar over epochs (``solver="sgd"``).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.
    penalty_ : ndarray of shape (n_features,) or (n_features, n_features)
        ``B`` in the penalty ``lam * w' B w``: the weighted uncentered sums of
        squares of the columns, or the block-diagonal matrix when a group
        has more than one column.
    n_iter_ : int
        Epochs run by ``solver="sgd"``; 1 for the closed form, which solves
        the normal equations in one step.
    loss_curve_ : list of float
        Mean training loss (with masks) per epoch; ``solver="sgd"`` only.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    categories_ : dict
        Levels of each categorical column, in the order of their encoded
        columns (empty without categorical columns).
    feature_groups_ : list of ndarray
        The dropout groups as columns of the encoded input: one per original
        feature (its one-hot block for a categorical one), merged as
        ``feature_groups`` asks.

    See Also
    --------
    DropoutLinearRegressionCV : Chooses ``dropout`` by exact leave-one-out.
    sklearn.linear_model.Ridge : The same model with an isotropic penalty.

    References
    ----------
    N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and R. Salakhutdinov,
    "Dropout: a simple way to prevent neural networks from overfitting", JMLR
    15 (2014), section 9.1.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop import DropoutLinearRegression
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = DropoutLinearRegression(dropout=0.2).fit(X, y)
    >>> round(model.score(X, y), 3)
    0.505
    """

    _parameter_constraints: ClassVar[dict] = {
        **RATE_CONSTRAINTS,
        **INPUT_CONSTRAINTS,
        "solver": [StrOptions({"closed_form", "sgd"})],
        **SGD_CONSTRAINTS,
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        dropout=0.2,
        *,
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        fit_intercept=True,
        solver="closed_form",
        max_iter=2000,
        batch_size="auto",
        learning_rate_init=0.5,
        tol=1e-2,
        random_state=None,
        device="cpu",
        verbose=False,
    ):
        self.dropout = dropout
        self.feature_groups = feature_groups
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; a DataFrame lets ``feature_groups`` name columns.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; weight ``k`` is the same as repeating the row
            ``k`` times.

        Returns
        -------
        self : DropoutLinearRegression
            The fitted estimator.

        Raises
        ------
        FitInterrupted
            On Ctrl-C (``KeyboardInterrupt``) during ``solver="sgd"`` after at
            least one epoch: the estimator is kept, fitted, with the averages
            of the completed epochs.  See :ref:`interrupted_fits`.
        """
        X, y, sample_weight, groups = self._validate_fit_data(X, y, sample_weight)
        y, single = as_columns(y)
        if self.solver == "closed_form":
            # Unused here, but a typo should not wait for solver="sgd".
            check_device_name(self.device)
            system, _, _ = build_system(X, y, sample_weight, groups, self.fit_intercept)
            coef = solve_system(system, dropout_lambda(self.dropout))
            intercept = system.y_offset - system.x_offset @ coef
            penalty = system.penalty
            self.n_iter_ = 1  # one solve of the normal equations
        else:
            result = self._fit_sgd(
                X,
                y,
                sample_weight,
                groups,
                tol=self.tol,
                loss="squared",
                option="solver",
            )
            coef, intercept = result.coef, result.intercept
            penalty = uncentered_penalty(X, sample_weight, groups)
            self.n_iter_ = result.n_iter
            self.loss_curve_ = result.loss_curve
        self._set_solution(coef, intercept, penalty, single)
        if self.solver == "sgd":
            self._raise_if_interrupted(result)
        return self

    def drop_column_refits(self, X, y, column_groups, sample_weight=None):
        """The models refitted without each group of columns, from one solve.

        Leaving columns out of the closed form's normal equations is a
        rank-one (rank-k for k columns) downdate of one inverse, so all the
        refits cost about one fit.  Each model returned equals, to round-off,
        what ``fit`` gives on the columns of ``X`` outside its group (a
        dropout group keeps its remaining columns).
        :func:`~skdrop.inspection.ablation_importance` uses it for
        drop-column importance.  The estimator itself is not changed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, as for :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        column_groups : list of array-like of int
            Columns of ``X`` to leave out together, one refit per group; each
            group must leave at least one column.  An empty group leaves none
            out: its model is the one ``fit`` gives on all of ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights, as for :meth:`fit`.

        Returns
        -------
        refits : list of DropoutLinearRegression or None
            One fitted model per group, on ``X`` without the group's columns
            (the others in their order).  None when there is no exact
            shortcut, and the caller should refit: ``solver="sgd"``,
            categorical columns that the estimator encodes, or a system so
            ill-conditioned (reciprocal condition number below 1e-8, such as
            collinear columns without dropout) that the downdate could
            differ from a refit in the digits that matter.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_diabetes
        >>> from skdrop import DropoutLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = DropoutLinearRegression(dropout=0.2)
        >>> without_0, without_2_3 = model.drop_column_refits(X, y, [[0], [2, 3]])
        >>> kept = [0, 1, 4, 5, 6, 7, 8, 9]
        >>> refit = DropoutLinearRegression(dropout=0.2).fit(X[:, kept], y)
        >>> bool(np.allclose(without_2_3.coef_, refit.coef_, rtol=1e-10))
        True
        """
        self._validate_params()
        if self.solver != "closed_form":
            return None
        return drop_column_models(self, X, y, column_groups, sample_weight)

    def equivalent_ridge(self):
        """The ridge regression that this fitted model equals exactly.

        The dropout penalty ``lam * w' B w`` becomes the ridge penalty
        ``lam * ||v||^2`` with ``w = T v``, where ``T' B T = I``:
        ``Ridge(alpha=lam)`` fitted on ``X @ T`` has coefficients ``v`` with
        ``T @ v`` equal to ``coef_`` (up to round-off; directions without
        data or penalty are left out of ``T``).  Without groups ``T`` is
        diagonal, ``1 / sqrt(B_jj)``.  Read more in the
        :ref:`user guide <linear_dropout>`.

        Returns
        -------
        alpha : float
            ``lam = dropout / (1 - dropout)``.
        transform : ndarray of shape (n_features, n_kept)
            ``T``, over the columns the model was fitted on (the encoded
            ones, when it encodes categorical columns).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.linear_model import Ridge
        >>> from skdrop import DropoutLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = DropoutLinearRegression(dropout=0.3).fit(X, y)
        >>> alpha, T = model.equivalent_ridge()
        >>> ridge = Ridge(alpha=alpha).fit(X @ T, y)
        >>> bool(np.allclose(T @ ridge.coef_, model.coef_, rtol=1e-8))
        True
        """
        check_is_fitted(self)
        transform = penalty_root_inverse(
            self.penalty_, self.feature_groups_, len(self.penalty_)
        )
        return dropout_lambda(self.dropout), transform


class DropoutLinearRegressionCV(RegressorMixin, _LinearRegression, LinearDropoutBase):
    """Dropout linear regression with the dropout rate chosen by cross-validation.

    With ``cv=None`` (the default) every rate is scored by exact, efficient
    leave-one-out: one eigendecomposition serves the whole grid, so trying
    30 rates costs about two fits.  With ``cv`` given, the result is the same
    as ``GridSearchCV(DropoutLinearRegression(), {"dropout": dropouts})``.
    Read more in the :ref:`user guide <linear_dropout_cv>`.

    Parameters
    ----------
    dropouts : array-like of float, default=(0, 0.05, 0.1, 0.2, ..., 0.9, 0.95)
        Dropout rates to try, each in [0, 1).
    fit_intercept, feature_groups, categorical_features, max_categories
        As in :class:`DropoutLinearRegression`.
    cv : int, cross-validation generator or iterable, default=None
        ``None`` uses efficient leave-one-out (it needs at least two samples
        of positive weight).  Otherwise any ``cv`` accepted by
        :class:`~sklearn.model_selection.GridSearchCV`.
    scoring : str or callable, default=None
        Scorer to maximize.  ``None`` means the negative mean squared error
        for leave-one-out and R^2 (the estimator's ``score``) with ``cv``.
    store_cv_results : bool, default=False
        With ``cv=None``, keep the per-sample leave-one-out values in
        ``cv_results_``.

    Attributes
    ----------
    dropout_ : float
        The chosen dropout rate.
    best_score_ : float
        Score of the chosen rate.
    scores_ : ndarray of shape (n_dropouts,)
        Mean cross-validated score of each rate in ``dropouts`` (higher is
        better).
    cv_results_ : ndarray of shape (n_samples, n_dropouts) or \
            (n_samples, n_targets, n_dropouts)
        With ``cv=None`` and ``store_cv_results=True``: squared leave-one-out
        errors when ``scoring`` is None, else leave-one-out predictions.
    coef_, intercept_, penalty_, n_features_in_, feature_names_in_, \
categories_, feature_groups_
        Of the model refitted on all rows at ``dropout_``, as in
        :class:`DropoutLinearRegression`.

    Notes
    -----
    The leave-one-out errors hold the penalty matrix ``B`` at its value on all
    rows: each left-out fit solves ``min sum_{j != i} s_j (y_j - b - x_j w)^2
    + lam w' B w``.  Refitting :class:`DropoutLinearRegression` on ``n - 1``
    rows would recompute ``B`` without row ``i``, a relative change of order
    ``1 / n`` in the penalty.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop import DropoutLinearRegressionCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = DropoutLinearRegressionCV(dropouts=[0.0, 0.1, 0.2, 0.5]).fit(X, y)
    >>> float(model.dropout_)
    0.0
    """

    _parameter_constraints: ClassVar[dict] = {
        "dropouts": ["array-like"],
        **INPUT_CONSTRAINTS,
        "cv": ["cv_object"],  # which includes None
        "scoring": [str, callable, None],
        "store_cv_results": ["boolean"],
    }

    def __init__(
        self,
        dropouts=_DEFAULT_DROPOUTS,
        *,
        fit_intercept=True,
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        cv=None,
        scoring=None,
        store_cv_results=False,
    ):
        self.dropouts = dropouts
        self.fit_intercept = fit_intercept
        self.feature_groups = feature_groups
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.cv = cv
        self.scoring = scoring
        self.store_cv_results = store_cv_results

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Choose the dropout rate and fit the model at that rate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : DropoutLinearRegressionCV
            The fitted estimator.
        """
        rates = check_dropout_grid(self.dropouts)
        if self.cv is not None and self.store_cv_results:
            raise ValueError(
                "store_cv_results=True needs cv=None (leave-one-out); "
                f"got cv={self.cv!r}"
            )
        X, y, sample_weight, groups = self._validate_fit_data(X, y, sample_weight)
        y, single = as_columns(y)
        if self.cv is not None:
            return self._fit_grid_search(X, y, single, sample_weight, groups, rates)
        return self._fit_loo(X, y, single, sample_weight, groups, rates)

    def _fit_loo(self, X, y, single, sample_weight, groups, rates):
        n_weighted = X.shape[0] if sample_weight is None else np.sum(sample_weight > 0)
        if n_weighted < 2:
            # Leaving out the only row leaves nothing to fit: every rate
            # would score the same and the choice would be arbitrary.
            raise ValueError(
                "cv=None (leave-one-out) needs at least 2 samples of positive "
                f"weight, got {n_weighted} sample{'' if n_weighted == 1 else 's'}"
            )
        system, Xc, yc = build_system(X, y, sample_weight, groups, self.fit_intercept)
        lams = [dropout_lambda(p) for p in rates]
        residuals = loo_residuals(
            system, Xc, yc, sample_weight, groups, lams, self.fit_intercept
        )
        del Xc, yc
        scores, stored = loo_scores(self, residuals, y, single, sample_weight)
        best = int(np.argmax(scores))
        coef = solve_system(system, lams[best])
        intercept = system.y_offset - system.x_offset @ coef
        self.dropout_ = float(rates[best])
        self.best_score_ = float(scores[best])
        self.scores_ = scores
        if self.store_cv_results:
            self.cv_results_ = stored[:, 0, :] if single else stored
        else:
            self.__dict__.pop("cv_results_", None)
        self._set_solution(coef, intercept, system.penalty, single)
        return self

    def _fit_grid_search(self, X, y, single, sample_weight, groups, rates):
        # Groups are passed as resolved indices: the search sees numpy arrays.
        inner = DropoutLinearRegression(
            fit_intercept=self.fit_intercept,
            feature_groups=[g.tolist() for g in groups if len(g) > 1] or None,
            categorical_features=None,
        )
        # Resolved once (a generator of splits can be read only once): the
        # weights are checked on the splits that the search will use.
        cv = check_cv(self.cv)
        search = GridSearchCV(
            inner,
            {"dropout": [float(p) for p in rates]},
            cv=cv,
            scoring=self.scoring,
            # A split that cannot be fitted makes the comparison meaningless:
            # an error, not a FitFailedWarning and NaN scores.
            error_score="raise",
        )
        params = {} if sample_weight is None else {"sample_weight": sample_weight}
        if sample_weight is not None:
            splits = cv.split(X, y[:, 0] if single else y)
            check_split_weights(sample_weight, splits, self.cv)
        search.fit(X, y[:, 0] if single else y, **params)
        best = search.best_estimator_
        self.__dict__.pop("cv_results_", None)
        self.dropout_ = float(search.best_params_["dropout"])
        self.best_score_ = float(search.best_score_)
        self.scores_ = np.asarray(search.cv_results_["mean_test_score"])
        self.coef_ = best.coef_
        self.intercept_ = best.intercept_
        self.penalty_ = best.penalty_
        return self
