"""Linear regression trained with input dropout."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..utils import (
    DEPRECATED,
    atomic_fit,
    check_device_name,
    check_magnitude,
    numeric_target,
    set_params_of_init,
    validate_X,
)
from ._base import (
    INPUT_CONSTRAINTS,
    RATE_CONSTRAINTS,
    SGD_CONSTRAINTS,
    LinearDropoutBase,
    as_columns,
    drop_column_models,
)
from ._closed_form import (
    build_system,
    dropout_lambda,
    penalty_root_inverse,
    solve_system,
    uncentered_penalty,
)


class _LinearRegression:
    """The regression side of the two linear estimators: numeric, possibly
    multi-output targets, the solution in scikit-learn's layout, and
    prediction (with :class:`LinearDropoutBase` after it)."""

    _target_checks: ClassVar[dict] = {"multi_output": True, "y_numeric": True}

    def _check_target(self, y, limit, why, classes=None):
        del classes  # a regression target has none
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

    Each input entry is dropped with probability ``input_dropout`` and the
    kept ones are scaled by ``1 / (1 - input_dropout)`` (inverted dropout).
    The expected squared loss has a closed form (Srivastava et al. 2014,
    section 9.1)::

        ||y - b - X w||^2 + lam * w' B w,    lam = p / (1 - p)

    with ``p = input_dropout``,
    ``B = diag(X' S X)`` of the uncentered, weighted data, or its block
    version when columns share a mask (``feature_groups``).  The default
    solver minimizes it exactly; ``solver="sgd"`` trains with real random
    masks and converges to the same coefficients, so the two check each
    other.  Read more in the :ref:`user guide <linear_dropout>`.

    Parameters
    ----------
    input_dropout : float, default=0.2
        Probability of dropping each input, in [0, 1); one rate for every
        column.  0.2 is the 80% retention that Srivastava et al. recommend
        for real-valued inputs.
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
    step_fraction : float, default=0.5
        Initial step as a fraction of ``1 / L``, where ``L`` is the largest
        curvature of the expected loss, estimated before training
        (``solver="sgd"``).  Values above 1 may diverge.  Unlike the
        networks' ``learning_rate_init``, it is relative to the curvature.
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
    dropout : float
        Deprecated since 0.3, removed in 0.4: the old name of
        ``input_dropout``.
    learning_rate_init : float
        Deprecated since 0.3, removed in 0.4: the old name of
        ``step_fraction``.

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
    input_dropout_ : ndarray of shape (n_features,)
        The rate each original column is dropped with (``input_dropout``
        for every column).
    n_iter_ : None or ndarray of shape (n_targets,)
        As :class:`~sklearn.linear_model.Ridge`'s: None for the closed form
        (no iterations), the epochs of ``solver="sgd"`` for each target
        (the targets train together, so the entries are equal; shape (1,)
        for a 1-d ``y``).  After :meth:`partial_fit`, this call's epochs
        (1), as on :class:`~sklearn.linear_model.SGDRegressor`.
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
    DropoutLinearRegressionCV : Chooses ``input_dropout`` by exact leave-one-out.
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
    >>> model = DropoutLinearRegression(input_dropout=0.2).fit(X, y)
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
        input_dropout=0.2,
        *,
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        fit_intercept=True,
        solver="closed_form",
        max_iter=2000,
        batch_size="auto",
        step_fraction=0.5,
        tol=1e-2,
        random_state=None,
        device="cpu",
        verbose=False,
        dropout=DEPRECATED,
        learning_rate_init=DEPRECATED,
    ):
        set_params_of_init(self, locals())

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
        settings = self._settings()
        X, y, sample_weight, groups = self._validate_fit_data(X, y, sample_weight)
        y, single = as_columns(y)
        self._set_input_dropout(settings["input_dropout"])
        if self.solver == "closed_form":
            # Unused here, but a typo should not wait for solver="sgd".
            check_device_name(self.device)
            system, _, _ = build_system(X, y, sample_weight, groups, self.fit_intercept)
            coef = solve_system(system, dropout_lambda(settings["input_dropout"]))
            intercept = system.y_offset - system.x_offset @ coef
            self._set_solution(coef, intercept, system.penalty, single)
            self.n_iter_ = None  # no iterations, as Ridge's direct solvers
            self._sgd_state = None
            return self
        result = self._fit_sgd(
            X, y, sample_weight, groups, settings, tol=self.tol, loss="squared"
        )
        self._store_sgd(result, X, sample_weight, groups, single, previous=None)
        self._raise_if_interrupted(result)
        return self

    def _migrate_fitted(self, old):
        # Before 0.3 the closed form counted one iteration and SGD an int.
        if self.solver == "closed_form":
            self.n_iter_ = None
        elif np.ndim(self.n_iter_) == 0:
            n_targets = 1 if self.coef_.ndim == 1 else self.coef_.shape[0]
            self.n_iter_ = np.full(n_targets, int(self.n_iter_))

    @available_if(LinearDropoutBase._has_partial_fit)
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one pass of ``solver="sgd"`` over the rows.

        The first call (or one after :meth:`fit`, whose state it continues)
        fixes the column and target scaling and the step from its rows, as
        :class:`~sklearn.linear_model.SGDRegressor` fixes its schedule; each
        call then takes one epoch of mini-batches with fresh masks, and the
        coefficients are the average of the iterates over the second half
        of all steps so far.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets, with as many columns as on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : DropoutLinearRegression
            The updated estimator.

        Raises
        ------
        AttributeError
            With a solver other than ``"sgd"`` the method is absent, as on
            scikit-learn's MLPs with ``solver="lbfgs"``: the error says the
            estimator has no attribute ``partial_fit``, and its
            ``__cause__`` says why.

        Warns
        -----
        UserWarning
            When the estimator is fitted but holds no SGD state to continue
            (fitted with ``solver="closed_form"``, or loaded from a file
            saved before 0.3): the call starts SGD afresh.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skdrop import DropoutLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = DropoutLinearRegression(solver="sgd", random_state=0)
        >>> for start in range(0, len(y), 100):
        ...     rows = slice(start, start + 100)
        ...     model = model.partial_fit(X[rows], y[rows])
        >>> model.n_iter_
        array([1])
        """
        state = self._partial_fit_state()
        first = state is None
        settings = self._settings()
        X, y, sample_weight, groups = self._validate_fit_data(
            X, y, sample_weight, reset=first
        )
        y, single = as_columns(y)
        n_targets = 1 if first or self.coef_.ndim == 1 else self.coef_.shape[0]
        if not first and y.shape[1] != n_targets:
            raise ValueError(
                f"y has {y.shape[1]} target(s); the model was fitted on {n_targets}"
            )
        # Each call trains at the current rate.
        self._set_input_dropout(settings["input_dropout"])
        result = self._run_sgd(
            X,
            y,
            sample_weight,
            groups,
            settings,
            tol=0.0,
            loss="squared",
            state=state,
            incremental=True,
        )
        previous = None if first else self.loss_curve_
        self._store_sgd(result, X, sample_weight, groups, single, previous)
        self._raise_if_interrupted(result)
        return self

    def _store_sgd(self, result, X, sample_weight, groups, single, previous):
        """The solution, ``n_iter_`` (this call's epochs) and ``loss_curve_``
        after SGD; ``previous`` = the loss curve before a ``partial_fit``
        call."""
        curve = [] if previous is None else previous
        penalty = uncentered_penalty(X, sample_weight, groups)
        if previous is not None:
            penalty = self.penalty_  # the first rows' penalty, as the scaling
        self._set_solution(result.coef, result.intercept, penalty, single)
        n_targets = result.coef.shape[1]
        self.n_iter_ = np.full(n_targets, result.n_iter)
        self.loss_curve_ = [*curve, *result.loss_curve]

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
        >>> model = DropoutLinearRegression(input_dropout=0.2)
        >>> without_0, without_2_3 = model.drop_column_refits(X, y, [[0], [2, 3]])
        >>> kept = [0, 1, 4, 5, 6, 7, 8, 9]
        >>> refit = DropoutLinearRegression(input_dropout=0.2).fit(X[:, kept], y)
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
            ``lam = p / (1 - p)`` with ``p`` the fitted ``input_dropout``.
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
        >>> model = DropoutLinearRegression(input_dropout=0.3).fit(X, y)
        >>> alpha, T = model.equivalent_ridge()
        >>> ridge = Ridge(alpha=alpha).fit(X @ T, y)
        >>> bool(np.allclose(T @ ridge.coef_, model.coef_, rtol=1e-8))
        True
        """
        check_is_fitted(self)
        transform = penalty_root_inverse(
            self.penalty_, self.feature_groups_, len(self.penalty_)
        )
        return dropout_lambda(float(self.input_dropout_[0])), transform
