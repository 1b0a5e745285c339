"""Logistic regression trained with input dropout."""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from numbers import Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from threadpoolctl import threadpool_info, threadpool_limits

from ..utils import (
    DEPRECATED,
    atomic_fit,
    check_device_name,
    loss_progress,
    set_params_of_init,
)
from ._base import (
    INPUT_CONSTRAINTS,
    RATE_CONSTRAINTS,
    SGD_CONSTRAINTS,
    LinearDropoutBase,
)
from ._logistic_base import (
    ALGORITHM_CONSTRAINTS,
    OLD_OBJECTIVE,
    _check_sparse_for_sgd,
    _LogisticClassification,
    _targets,
)
from ._logistic_objectives import OBJECTIVES, DropoutDesign, fit_dropout_logistic

# tol=None: the gradient tolerance of L-BFGS (as LogisticRegression's), and
# the relative standard error of the averaged SGD iterates.
_DEFAULT_TOL = {"lbfgs": 1e-4, "sgd": 1e-2}


class DropoutLogisticRegression(
    ClassifierMixin, _LogisticClassification, LinearDropoutBase
):
    """Logistic regression trained with input dropout.

    Each input feature (or group of features) is dropped with probability
    ``input_dropout`` and the kept ones are scaled by
    ``1 / (1 - input_dropout)``; the
    model minimizes the expected logistic (binary) or softmax (multinomial)
    loss over the masks.  To second order this is an *adaptive* L2 penalty
    (Wager, Wang and Liang 2013): the coefficient of feature ``j`` is
    penalized by ``lam/2 sum_i x_ij^2 Var_pi_i(w_j)``, the spread of its
    coefficients under the row's predicted class probabilities, with ``lam =
    p / (1 - p)``, ``p = input_dropout``.  Rows predicted with confidence add little
    penalty, so a rare feature that separates well is shrunk less than plain
    L2 would.  Read more in the :ref:`user guide <logistic_dropout>`.

    Parameters
    ----------
    input_dropout : float, default=0.2
        Probability of dropping each feature (or group), in [0, 1); one rate
        for every column.  0 is unpenalized logistic regression.
    solver : {"lbfgs", "sgd"}, default="lbfgs"
        The algorithm.

        - "lbfgs": L-BFGS on the deterministic objective that
          ``approximation`` names, with its exact gradient.
        - "sgd": real random masks (one per row and group, per step),
          averaged SGD in torch: the true dropout objective, up to the
          noise of the average.  Dense ``X`` only; it has
          :meth:`partial_fit`.
    approximation : {"gaussian", "quadratic"}, default="gaussian"
        The marginalized dropout objective that ``solver="lbfgs"``
        minimizes (``solver="sgd"`` minimizes the true one and ignores it).

        - "quadratic": Wager et al.'s second-order approximation, the loss
          at the mean scores plus the adaptive penalty above.
        - "gaussian": Wang and Manning's "fast dropout": the scores taken as
          Gaussian with the masks' mean and covariance, the expected loss by
          20-node Gauss-Hermite quadrature (binary) or a degree-3 cubature
          over the ``K`` class scores (multinomial).  Closer to the true
          objective than "quadratic" at large rates, and slower for many
          classes.

        "gaussian" is the default: measured against 10^5 real masks it is
        closer to the true objective than "quadratic" at rates >= 0.3, and
        its solutions are closer to the true dropout minimizer (see the user
        guide).  The quadratic penalty vanishes on rows predicted with
        confidence, so on (nearly) separable data it barely regularizes and
        may have no finite minimizer; a fit warns when its objective is
        more than 10% from the Gaussian one at its solution.
    feature_groups : list of lists, "from_names" or None, default=None
        Features that are dropped together, by index or by column name, as
        in :class:`DropoutLinearRegression`.  Each categorical feature's
        one-hot block is always one group.
    categorical_features : array-like, "from_dtype" or None, default="from_dtype"
        Columns to one-hot encode, as in :class:`DropoutLinearRegression`.
    max_categories : int or None, default=None
        Keep at most this many levels of a categorical column (the rarest
        are merged).
    fit_intercept : bool, default=True
        Fit an intercept (never dropped nor penalized).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``, as in
        :class:`~sklearn.linear_model.LogisticRegression`.
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations, or of epochs of "sgd".
    tol : float or None, default=None
        Stopping tolerance.  L-BFGS stops when every entry of the gradient
        of the (mean) objective, in the coefficients of columns scaled to
        unit second moment, is below it (``None``: 1e-4, as
        :class:`~sklearn.linear_model.LogisticRegression`); "sgd" stops when
        the relative standard error of the averaged coefficients is below
        it (``None``: 1e-2).
    batch_size : int or "auto", default="auto"
        Rows per mini-batch of "sgd" (``"auto"``: ``min(200, n_samples)``).
    step_fraction : float, default=0.5
        Initial step of "sgd", as a fraction of ``1 / L`` with ``L`` the
        largest curvature of the loss; it decays as
        ``1 / sqrt(1 + t / t0)``.  Unlike the networks'
        ``learning_rate_init``, it is relative to the curvature.
    random_state : int, RandomState instance or None, default=None
        Seeds the masks and the row order of "sgd" (L-BFGS is
        deterministic).
    device : str, default="cpu"
        Torch device of "sgd", such as "cuda".
    verbose : bool, default=False
        Show a progress bar over iterations (or epochs).
    dropout : float
        Deprecated since 0.3, removed in 0.4: the old name of
        ``input_dropout``.
    objective : {"gaussian", "quadratic", "sgd"}
        Deprecated since 0.3, removed in 0.4: "sgd" is ``solver="sgd"``,
        the others ``solver="lbfgs"`` with that ``approximation``.
    learning_rate_init : float
        Deprecated since 0.3, removed in 0.4: the old name of
        ``step_fraction``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients on the encoded input; one row for two classes (the
        score of ``classes_[1]``), as in
        :class:`~sklearn.linear_model.LogisticRegression`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    input_dropout_ : ndarray of shape (n_features,)
        The rate each original column is dropped with (``input_dropout``
        for every column).
    n_iter_ : ndarray of shape (1,)
        Iterations of L-BFGS (or epochs of "sgd"), as
        :class:`~sklearn.linear_model.LogisticRegression`'s; after
        :meth:`partial_fit`, this call's epochs (1), as on
        :class:`~sklearn.linear_model.SGDClassifier`.
    loss_curve_ : list of float
        The objective after each iteration (epoch).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    categories_ : dict
        Levels of each categorical column, in the order of their encoded
        columns.
    feature_groups_ : list of ndarray
        The dropout groups as columns of the encoded input.

    See Also
    --------
    DropoutLogisticRegressionCV : The rate chosen by cross-validation.
    DropoutLinearRegression : Input dropout for regression, solved exactly.

    Notes
    -----
    With inverted masks the scores ``s`` of a row have mean ``m = b + W x``
    and covariance ``lam sum_j x_j^2 w_j w_j'`` (``w_j`` the coefficients of
    feature ``j`` for each class).  "quadratic" adds ``1/2`` the trace of
    that covariance times the softmax Hessian ``diag(pi) - pi pi'`` to the
    loss at ``m``.  Dropout of a one-hot block as one group gives the same
    objective as dropping its columns one by one (a row has one nonzero in
    the block), for every approximation.

    Both deterministic objectives, like the true one, are unchanged by
    column scaling of ``X`` (the penalty scales with ``x^2 w^2``), and the
    solver works on columns scaled to unit second moment.

    References
    ----------
    S. Wager, S. Wang and P. Liang, "Dropout training as adaptive
    regularization", NeurIPS 2013.

    S. Wang and C. Manning, "Fast dropout training", ICML 2013.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> dropout = DropoutLogisticRegression(input_dropout=0.3)
    >>> model = make_pipeline(StandardScaler(), dropout)
    >>> round(model.fit(X, y).score(X, y), 3)
    0.988
    """

    _parameter_constraints: ClassVar[dict] = {
        **RATE_CONSTRAINTS,
        **ALGORITHM_CONSTRAINTS,
        **OLD_OBJECTIVE,
        **INPUT_CONSTRAINTS,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        **SGD_CONSTRAINTS,
        "tol": [Interval(Real, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        input_dropout=0.2,
        *,
        solver="lbfgs",
        approximation="gaussian",
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        fit_intercept=True,
        class_weight=None,
        max_iter=1000,
        tol=None,
        batch_size="auto",
        step_fraction=0.5,
        random_state=None,
        device="cpu",
        verbose=False,
        dropout=DEPRECATED,
        objective=DEPRECATED,
        learning_rate_init=DEPRECATED,
    ):
        set_params_of_init(self, locals())

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse only for ``solver="lbfgs"``).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; weight ``k`` is the same as repeating the
            row ``k`` times.

        Returns
        -------
        self : DropoutLogisticRegression
            The fitted estimator.

        Raises
        ------
        FitInterrupted
            On Ctrl-C during ``solver="sgd"`` after at least one epoch:
            the estimator is kept, fitted with the completed epochs.
        """
        settings = self._settings()
        _check_sparse_for_sgd(settings["solver"], X)
        check_device_name(self.device)
        X, y, sample_weight, groups = self._validate_fit_data(X, y, sample_weight)
        self._set_input_dropout(settings["input_dropout"])
        sample_weight = self._row_weights(sample_weight, y)
        Y = _targets(y, self.classes_)
        self._sgd_state = None
        if settings["solver"] == "sgd":
            return self._fit_sgd_solution(X, Y, sample_weight, groups, settings)
        problem = _ScaledDesign.build(X, sample_weight, groups)
        self._fit_design(problem, Y, settings)
        return self

    @available_if(LinearDropoutBase._has_partial_fit)
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one pass of ``solver="sgd"`` over the rows.

        The first call (or one after :meth:`fit`, whose state it continues)
        fixes the column scaling and the step from its rows; each call then
        takes one epoch of mini-batches with fresh masks, and the
        coefficients are the average of the iterates over the second half
        of all steps so far.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (dense).
        y : array-like of shape (n_samples,)
            Their class labels, among ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class, required on the first call (a call may hold rows
            of only some of them), as in
            :class:`~sklearn.linear_model.SGDClassifier`; later calls may
            omit it or must give the same classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : DropoutLogisticRegression
            The updated estimator.

        Raises
        ------
        ValueError
            Without ``classes`` on the first call, with other classes later,
            or with ``class_weight="balanced"`` (the chunks' class counts
            differ; pass a dict).
        AttributeError
            With a solver other than ``"sgd"`` the method is absent, as on
            scikit-learn's MLPs with ``solver="lbfgs"``: the error says the
            estimator has no attribute ``partial_fit``, and its
            ``__cause__`` says why.

        Warns
        -----
        UserWarning
            When the estimator is fitted but holds no SGD state to continue
            (fitted with ``solver="lbfgs"``, or loaded from a file saved
            before 0.3): the call starts SGD afresh.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skdrop import DropoutLogisticRegression
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> model = DropoutLogisticRegression(solver="sgd", random_state=0)
        >>> for start in range(0, len(y), 200):
        ...     rows = slice(start, start + 200)
        ...     model = model.partial_fit(X[rows], y[rows], classes=[0, 1])
        >>> model.n_iter_
        array([1])
        """
        settings = self._settings()
        state = self._partial_fit_state()
        first = state is None
        _check_sparse_for_sgd(settings["solver"], X)
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the "
                "class counts of the calls differ; pass a dict of weights or "
                "use fit"
            )
        classes = self._partial_fit_classes(first, classes)
        X, y, sample_weight, groups = self._validate_fit_data(
            X, y, sample_weight, reset=first, classes=classes
        )
        # Each call trains at the current rate.
        self._set_input_dropout(settings["input_dropout"])
        sample_weight = self._row_weights(sample_weight, y)
        Y = _targets(y, self.classes_)
        previous = None if first else self.loss_curve_
        result = self._run_sgd(
            X,
            Y.reshape(X.shape[0], -1),
            sample_weight,
            groups,
            settings,
            tol=0.0,
            loss="binary" if Y.ndim == 1 else "multinomial",
            state=state,
            incremental=True,
        )
        return self._store_sgd(result, previous)

    def _partial_fit_classes(self, first, classes):
        """The classes of a ``partial_fit`` call: required on the first,
        the fitted ones (or the same again) later."""
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit "
                "(every class, as some may be missing from the first rows)"
            )
        if first:
            return classes
        if classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} is not the same as on "
                f"the first call to partial_fit, {self.classes_.tolist()}"
            )
        return self.classes_

    def _fit_design(self, problem, Y, settings, init=None):
        """L-BFGS on a prepared design; ``init`` = (coef_, intercept_) in the
        caller's units to start from (warm start)."""
        approximation = settings["approximation"]
        rate = settings["input_dropout"]
        tol = _DEFAULT_TOL["lbfgs"] if self.tol is None else self.tol
        coef0 = b0 = None
        if init is not None:
            coef0 = init[0].T
            b0 = init[1]
        with loss_progress(
            self.max_iter,
            verbose=self.verbose,
            desc=f"dropout logistic ({approximation})",
            unit="iter",
        ) as progress:
            # As many threads as BLAS would use, each on its own blocks of
            # rows with BLAS on one thread (more would oversubscribe the
            # cores).  threadpoolctl's limit is process-wide for some BLAS
            # builds and per thread for others: only one fit at a time holds
            # it, so each restores what it set, in its own thread.  Asking
            # threadpoolctl costs milliseconds: only for several blocks.
            several = len(problem.design.row_blocks(2)) > 1
            n_threads = _blas_threads() if several else 1
            with _blas_section(several):
                solution = fit_dropout_logistic(
                    problem.design,
                    Y,
                    rate / (1.0 - rate),
                    approximation,
                    fit_intercept=self.fit_intercept,
                    coef_init=coef0,
                    intercept_init=b0,
                    max_iter=self.max_iter,
                    tol=tol,
                    col_scale=problem.col_scale,
                    n_threads=n_threads,
                    progress=progress,
                )
        if solution.interrupted:
            # L-BFGS has no epochs to keep: atomic_fit restores the estimator.
            raise KeyboardInterrupt(
                f"{type(self).__name__}.fit was interrupted during L-BFGS; the "
                "estimator is left as it was before fit"
            )
        if not solution.converged:
            warnings.warn(
                f"{type(self).__name__}(approximation={approximation!r}) did not "
                f"converge in {solution.n_iter} L-BFGS iterations "
                f"({solution.message}); increase max_iter, or tol if the line "
                "search failed.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if approximation == "quadratic" and rate > 0:
            _check_second_order(problem.design, Y, rate, solution)
        self.coef_ = solution.coef.T
        self.intercept_ = solution.intercept
        self.n_iter_ = np.array([solution.n_iter])
        self.loss_curve_ = solution.loss_curve
        return self

    def _fit_sgd_solution(self, X, Y, sample_weight, groups, settings):
        """Averaged SGD on the rows; the solution stored as fit leaves it."""
        result = self._fit_sgd(
            X,
            Y.reshape(X.shape[0], -1),
            sample_weight,
            groups,
            settings,
            tol=_DEFAULT_TOL["sgd"] if self.tol is None else self.tol,
            loss="binary" if Y.ndim == 1 else "multinomial",
            stacklevel=4,  # one call deeper than the linear model's
        )
        return self._store_sgd(result, previous=None)

    def _store_sgd(self, result, previous):
        """The solution, ``n_iter_`` (this call's epochs) and ``loss_curve_``
        after SGD; ``previous`` = the loss curve before a ``partial_fit``
        call."""
        curve = [] if previous is None else previous
        self.coef_ = result.coef.T
        self.intercept_ = result.intercept
        self.n_iter_ = np.array([result.n_iter])
        self.loss_curve_ = [*curve, *result.loss_curve]
        self._raise_if_interrupted(result)
        return self


class _ScaledDesign:
    """The training rows, and the inverse root mean square of each column:
    the solver steps in coefficients of columns at unit (weighted,
    uncentered) second moment, where L-BFGS converges faster, without a
    scaled copy of ``X`` (the dropout objectives do not change with column
    scale)."""

    def __init__(self, design: DropoutDesign, col_scale: np.ndarray) -> None:
        self.design = design
        self.col_scale = col_scale

    @classmethod
    def build(cls, X, sample_weight, groups):
        w = sample_weight / sample_weight.sum()
        if sp.issparse(X):
            second = np.asarray(X.multiply(X).T @ w).ravel()
        else:
            second = np.einsum("i,ij,ij->j", w, X, X)  # no n x d temporary
        scale = np.ones(X.shape[1])
        np.divide(1.0, np.sqrt(second), out=scale, where=second > 0)
        design = DropoutDesign.build(X, sample_weight, list(groups))
        return cls(design, scale)


_BLAS_LOCK = threading.Lock()


@contextmanager
def _blas_section(active):
    """BLAS on one thread, one fit at a time (see ``_fit_design``)."""
    if not active:
        yield
        return
    with _BLAS_LOCK, threadpool_limits(1, user_api="blas"):
        yield


def _blas_threads():
    """The number of threads BLAS is set to use (1 if it cannot be told)."""
    counts = [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]
    return max(1, min(counts)) if counts else 1


def _check_second_order(design, Y, dropout, solution):
    """Warn when the quadratic objective is more than 10% from the Gaussian
    one at its solution: the second-order expansion no longer describes the
    dropout loss there."""
    lam = dropout / (1.0 - dropout)
    multinomial = Y.ndim == 2
    coef = solution.coef if multinomial else solution.coef[:, 0]
    b = solution.intercept if multinomial else float(solution.intercept[0])
    quadratic = OBJECTIVES["quadratic", multinomial](coef, b, design, Y, lam)[0]
    gaussian = OBJECTIVES["gaussian", multinomial](coef, b, design, Y, lam)[0]
    gap = abs(quadratic - gaussian) / max(abs(gaussian), 1e-300)
    if gap > 0.1:
        warnings.warn(
            f"approximation='quadratic': at the solution the second-order "
            f"objective ({quadratic:.4g}) is {gap:.0%} from the Gaussian one "
            f"({gaussian:.4g}); the expansion fails where the rows are predicted "
            "with confidence (nearly separable data) and the penalty stops "
            "regularizing. approximation='gaussian' follows the dropout loss "
            "further.",
            UserWarning,
            stacklevel=4,
        )
