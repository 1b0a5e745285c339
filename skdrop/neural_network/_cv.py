"""Dropout rates of the networks chosen by cross-validation, with every
(rate, fold) network of the grid trained side by side by the engine."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import StrOptions

from ..utils import SearchScoreMixin, set_params_of_init
from ._classifier import DropoutMLPClassifier
from ._grid import (
    DEFAULT_HIDDEN_DROPOUTS,
    DEFAULT_INPUT_DROPOUTS,
    _BaseDropoutMLPCV,
    _passes_each,
)
from ._noise import (
    PredictiveDistributionMixin,
    fitted_noise,
)
from ._params import PRIOR_LENGTH_SCALE, check_n_samples
from ._regressor import DropoutMLPRegressor


class DropoutMLPClassifierCV(SearchScoreMixin, ClassifierMixin, _BaseDropoutMLPCV):
    """Dropout network classifier with its dropout rates chosen by
    cross-validation, every network of the grid trained side by side.

    Each (input rate, hidden rate, fold) network of the grid is a member of
    one batched training run of the engine: the members' weights are stacked
    and every layer is one batched matrix product, so the whole grid costs a
    few single fits rather than one fit per member, as
    :class:`~sklearn.model_selection.GridSearchCV` would.  Each member is the
    same network :class:`DropoutMLPClassifier` fits on that fold with the
    same ``random_state``, to float32 rounding, so ``cv_results_`` agree
    with a grid search over the plain estimator.  Read more in the
    :ref:`user guide <mlp_cv>`.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, \
beta_2, epsilon, n_iter_no_change, max_fun, dropout_type, dropout_scaling, \
feature_groups, categorical_features, max_categories, batch_norm, max_norm, \
prior_length_scale, device
        As in :class:`DropoutMLPClassifier`, for every network of the grid.
        ``input_dropout`` and ``hidden_dropout`` are replaced by the grids,
        and there is no ``warm_start``: each fit searches afresh.  With
        ``early_stopping=True`` each member holds out ``validation_fraction``
        of its training fold, as the plain estimator would.  With an int
        ``random_state`` every member uses the seeds of
        ``DropoutMLPClassifier(random_state=random_state)``; with None one
        fresh draw is shared by all members, so the settings are compared
        with common random numbers.
    input_dropouts : array-like of float or "learned", default=(0.0, 0.1, 0.2)
        The input dropout rates to try, each in [0, 1), or ``"learned"``
        (one learned rate per feature: see :ref:`learned_rates`).
    hidden_dropouts : array-like, default=(0.0, 0.1, 0.3, 0.5)
        The hidden dropout rates to try: each entry a rate (or
        ``"learned"``) for every hidden layer or a tuple of one per hidden
        layer.  Every combination with ``input_dropouts`` is scored.
        Networks with learned rates train one after the other, the others
        side by side.
    cv : int, cross-validation generator or iterable, default=5
        As in :class:`~sklearn.model_selection.GridSearchCV`; an int makes
        stratified folds (plain folds for multilabel targets).
    scoring : str, callable or None, default=None
        Scores a member on its test fold; None is accuracy.  Test folds are
        scored without sample weights, as in ``GridSearchCV``.  A metric of
        class probabilities that takes ``labels`` (``"neg_log_loss"``, ...)
        is given the classes learned on every row, so a test fold that
        misses a class still scores.
    refit : bool or "ensemble", default="ensemble"
        ``"ensemble"`` keeps the chosen setting's fold networks
        (``estimators_``) and averages their probabilities: bagging at no
        extra fit, and the better of the two on the development suite of
        real tables (see the user guide).  ``True`` refits one
        :class:`DropoutMLPClassifier` at the chosen rates on every row, for
        the number of epochs cross-validation kept (``best_estimator_``).
        ``False`` only scores the grid, as in ``GridSearchCV``.
    max_members : int, str or None, default=None
        The most networks trained at once: an int, or a memory size such as
        ``"500MB"`` from which the number is estimated; None is ``"1GB"``.
        A bigger grid is trained in several passes.
    n_jobs : int or None, default=None
        The passes (of at most ``max_members`` members each) to train at
        once, as joblib jobs; None means 1 unless in a
        :func:`joblib.parallel_backend` context, -1 means all processors, as
        in ``GridSearchCV``.  A grid that fits in one pass trains in this
        process.  Where a pass runs does not change it: the networks equal
        those of the sequential run bit for bit on the CPU.  Under
        ``joblib.parallel_backend("dask")`` the passes spread over a dask
        cluster (see Notes).
    error_score : "raise" or float, default=np.nan
        The score of a member whose network failed (diverged) or whose
        scorer raised, as in ``GridSearchCV``: the failures give one
        :class:`~sklearn.exceptions.FitFailedWarning` (a failing scorer its
        ``UserWarning``), and a ``ValueError`` when every member failed.
        ``"raise"`` raises the first failure.
    class_weight : dict, list of dict, "balanced" or None, default=None
        As in :class:`DropoutMLPClassifier`, for every network of the grid.
        "balanced" weighs the classes by their counts in all the rows given
        to ``fit``, not in each training fold, as
        :class:`~sklearn.linear_model.LogisticRegressionCV` does: every
        member and the refit train with the same weights.  Test folds are
        scored without them.

    Attributes
    ----------
    best_params_ : dict
        The chosen setting: ``{"input_dropout": ..., "hidden_dropout":
        ...}``, the entries as given in ``input_dropouts`` and
        ``hidden_dropouts``.
    best_score_ : float
        The mean test-fold score of the chosen setting.
    best_index_ : int
        Its index in ``cv_results_``: the first of rank 1, as in
        ``GridSearchCV``.
    cv_results_ : dict of ndarray
        In :class:`~sklearn.model_selection.GridSearchCV`'s format
        (``params``, ``param_input_dropout``, ``param_hidden_dropout``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``split{k}_test_score``, ``mean_fit_time``, ...), so that
        ``pandas.DataFrame(cv_results_)`` works, and ``split{k}_n_iter``: the
        epochs each member ran.  A member's fit time is its share of the
        wall time of the pass that trained it.  A failed member scores
        ``error_score``.
    input_dropout_ : ndarray of shape (n_features,)
        The input rate of each column of X in the model that predicts:
        ``best_estimator_``'s, else the mean of the chosen setting's fold
        networks (which differ where rates are learned; each keeps its own
        on ``estimators_``).
    hidden_dropout_ : list of float
        Likewise, one rate per hidden layer.
    n_iter_ : int
        The epochs the model that predicts ran, as ``MLPClassifier``'s
        ``n_iter_``: ``best_estimator_``'s, else the most of the chosen
        setting's fold networks.  Each member's are in ``cv_results_``.
    estimators_ : list of DropoutMLPClassifier
        With ``refit="ensemble"``: the chosen setting's fold networks.
    best_estimator_ : DropoutMLPClassifier
        With ``refit=True``: the network refitted on every row.
    refit_epochs_ : int
        With ``refit=True``: the epochs of that refit, the mean over folds
        of the epochs each member kept.
    refit_time_ : float
        Seconds the refit took; 0.0 without one (``refit="ensemble"`` or
        False).
    classes_ : ndarray
    n_splits_ : int
    scorer_ : callable
        The scorer of the test folds.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.

    See Also
    --------
    DropoutMLPClassifier : The network at fixed rates.
    DropoutMLPRegressorCV : The regressor.

    Notes
    -----
    A large grid on a cluster: with ``max_members`` small enough to give
    several passes, joblib's dask backend runs each pass on a worker, with
    no scheduler of skdrop's own::

        import joblib
        from dask.distributed import Client

        client = Client("scheduler-address:8786")  # or LocalCluster()
        search = DropoutMLPClassifierCV(max_members=64, random_state=0)
        with joblib.parallel_backend("dask"):
            search.fit(X, y)

    Give the workers one torch thread each (``OMP_NUM_THREADS=1``) where
    several share a machine.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     DropoutMLPClassifierCV(
    ...         hidden_layer_sizes=(32,), input_dropouts=[0.0, 0.2],
    ...         hidden_dropouts=[0.0, 0.5], cv=3, max_iter=50, random_state=0,
    ...     ),
    ... ).fit(X, y)
    >>> search = model[-1]
    >>> len(search.cv_results_["params"]), len(search.estimators_)
    (4, 3)
    >>> sorted(search.best_params_)
    ['hidden_dropout', 'input_dropout']
    >>> bool(search.best_score_ > 0.9)
    True
    """

    _plain = DropoutMLPClassifier
    _parameter_constraints: ClassVar[dict] = {
        **_BaseDropoutMLPCV._parameter_constraints,
        "class_weight": DropoutMLPClassifier._parameter_constraints["class_weight"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        input_dropouts=DEFAULT_INPUT_DROPOUTS,
        hidden_dropouts=DEFAULT_HIDDEN_DROPOUTS,
        cv=5,
        scoring=None,
        refit="ensemble",
        max_members=None,
        n_jobs=None,
        error_score=np.nan,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout_type="bernoulli",
        dropout_scaling="inverted",
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        batch_norm=False,
        max_norm=None,
        prior_length_scale=PRIOR_LENGTH_SCALE,
        class_weight=None,
        device="cpu",
    ):
        set_params_of_init(self, locals())

    def predict_proba(self, X):
        """Class probabilities: the mean over ``estimators_``, or those of
        ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return np.mean(self._each("predict_proba", X), axis=0)

    predict_log_proba = DropoutMLPClassifier.predict_log_proba

    def predict(self, X):
        """Class labels of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        predictors = self._predictors()
        if len(predictors) == 1:
            return self._each("predict", X)[0]
        return predictors[0]._labels(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class DropoutMLPRegressorCV(
    SearchScoreMixin, PredictiveDistributionMixin, RegressorMixin, _BaseDropoutMLPCV
):
    """Dropout network regressor with its dropout rates chosen by
    cross-validation, every network of the grid trained side by side.

    See :class:`DropoutMLPClassifierCV`; the members are
    :class:`DropoutMLPRegressor` networks.  ``predict(X, return_std=True)``
    with ``refit="ensemble"`` lets each of the k fold networks make
    ``ceil(n_samples / k)`` Monte Carlo passes and returns the mean and
    variance of all of them, so every network counts the same (without
    dropout the mean is :meth:`predict`'s) and the variance holds their
    disagreement.  Read more in the :ref:`user guide <mlp_cv>`.

    Parameters
    ----------
    hidden_layer_sizes, activation, input_dropouts, hidden_dropouts, cv, \
refit, max_members, n_jobs, error_score, solver, alpha, batch_size, \
learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state, \
tol, verbose, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, dropout_type, dropout_scaling, \
feature_groups, categorical_features, max_categories, batch_norm, max_norm, \
prior_length_scale, device
        As in :class:`DropoutMLPClassifierCV`; folds are not stratified.
    scoring : str, callable or None, default=None
        None is R^2.
    loss : {"squared_error", "gaussian_nll"}, default="squared_error"
        As in :class:`DropoutMLPRegressor`, for every network.  With
        "gaussian_nll" the members are still scored on their means (R^2 by
        default), ``noise_variance_`` is None and ``predict(X,
        return_std=True)`` adds the networks' predicted noise.
    target_scaling : {"standard"} or None, default="standard"
        As in :class:`DropoutMLPRegressor`: each member standardizes the
        target with the statistics of its own training fold.

    Attributes
    ----------
    best_params_, best_score_, best_index_, cv_results_, input_dropout_, \
hidden_dropout_, n_iter_, refit_epochs_, refit_time_, n_splits_, scorer_, \
n_features_in_, feature_names_in_
        As in :class:`DropoutMLPClassifierCV`.
    estimators_ : list of DropoutMLPRegressor
        With ``refit="ensemble"``: the chosen setting's fold networks, whose
        predictions are averaged.
    best_estimator_ : DropoutMLPRegressor
        With ``refit=True``; its ``noise_variance_`` is the search's.
    noise_variance_ : ndarray of shape (n_outputs,) or None
        The noise variance per target, in the target's units, which
        ``predict(X, return_std=True)`` and :meth:`predict_interval` add to
        the Monte Carlo variance (None with ``loss="gaussian_nll"``): the
        mean over the chosen setting's fold networks, weighted by their
        held-out folds' total sample weight, of each one's maximum-likelihood
        estimate on its own held-out fold (see ``DropoutMLPRegressor``'s
        ``noise_variance``).
        It may be set after the fit.

    See Also
    --------
    DropoutMLPRegressor : The network at fixed rates.
    DropoutMLPClassifierCV : The classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     DropoutMLPRegressorCV(
    ...         hidden_layer_sizes=(32,), input_dropouts=[0.0],
    ...         hidden_dropouts=[0.0, 0.3], cv=3, learning_rate_init=0.01,
    ...         max_iter=100, random_state=0,
    ...     ),
    ... ).fit(X, y / 100)
    >>> mean, std = model.predict(X[:2], return_std=True)
    >>> mean.shape, std.shape
    ((2,), (2,))
    """

    _plain = DropoutMLPRegressor

    _parameter_constraints: ClassVar[dict] = {
        **_BaseDropoutMLPCV._parameter_constraints,
        "loss": [StrOptions({"squared_error", "gaussian_nll"})],
        "target_scaling": [StrOptions({"standard"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        target_scaling="standard",
        input_dropouts=DEFAULT_INPUT_DROPOUTS,
        hidden_dropouts=DEFAULT_HIDDEN_DROPOUTS,
        cv=5,
        scoring=None,
        refit="ensemble",
        max_members=None,
        n_jobs=None,
        error_score=np.nan,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout_type="bernoulli",
        dropout_scaling="inverted",
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        batch_norm=False,
        max_norm=None,
        prior_length_scale=PRIOR_LENGTH_SCALE,
        device="cpu",
    ):
        set_params_of_init(self, locals())

    def _after_selection(self, chosen, setting, template, problem, runs, fits, folds):
        if chosen[0]._head_name == "gaussian":
            # The networks predict each row's noise: there is none to estimate.
            self.noise_variance_ = None
            return chosen
        # Each fold network's noise variance on its own held-out fold; the
        # search's is their weighted mean.
        W = problem.sample_weight
        estimates, totals = [], []
        for k, (_, test) in enumerate(folds):
            total = len(test) if W is None else float(W[test].sum())
            if total > 0 and fits[k].error is None:
                chosen[k] = self._member(
                    template, problem, setting, runs, k, fits[k], held_out=test
                )
                estimates.append(chosen[k].noise_variance_)
                totals.append(total)
        if not totals:
            raise ValueError(
                "sample_weight is zero on every held-out row of every split: the "
                "noise variance has no rows to be estimated on"
            )
        # Weighted by each fold's held-out weight; a fold network without
        # held-out weight takes the search's estimate.
        self.noise_variance_ = np.average(estimates, axis=0, weights=totals)
        for est in chosen:
            if getattr(est, "noise_variance_", None) is None:
                est.noise_variance_ = self.noise_variance_.copy()
        return chosen

    def _after_refit(self, estimator):
        # The refit saw every row: its in-sample estimate would be optimistic.
        if self.noise_variance_ is not None:
            estimator.noise_variance_ = self.noise_variance_.copy()

    def _mean_prediction(self, X):
        return np.mean(self._each("predict", X), axis=0)

    def _predictive_moments(self, X, include_noise, n_samples):
        # The mixture of the networks, each making the same number of
        # passes: the pooled draws' mean and variance.
        predictors = self._predictors()
        check_n_samples(n_samples)
        passes = _passes_each(n_samples, len(predictors))
        gaussian = predictors[0]._head_name == "gaussian"
        with self._predicting(X):
            moments = [
                est._predictive_moments(X, include_noise and gaussian, passes)
                for est in predictors
            ]
        means = np.stack([mean for mean, _ in moments])
        variances = np.stack([variance for _, variance in moments])
        mean = means.mean(axis=0)
        variance = variances.mean(axis=0) + means.var(axis=0)
        if include_noise and not gaussian:
            noise = fitted_noise(self, predictors[0].n_outputs_)
            variance = variance + (noise[0] if variance.ndim == 1 else noise)
        return mean, variance

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
