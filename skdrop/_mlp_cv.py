"""Dropout rates of the networks chosen by cross-validation, with every
(rate, fold) network of the grid trained side by side by the engine."""

from __future__ import annotations

import inspect
import math
import re
import time
import warnings
from contextlib import contextmanager
from dataclasses import replace
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._engine import MemberPlan, members_in_budget, resolve_device, train_members
from ._mlp_base import (
    LEARNED,
    PRIOR_LENGTH_SCALE,
    _BaseDropoutMLP,
    _check_lbfgs,
    _check_learned,
    _rate,
)
from ._mlp_classifier import DropoutMLPClassifier
from ._mlp_regressor import (
    _RETURN_STD_SAMPLES,
    DropoutMLPRegressor,
    _check_coverage,
    fitted_noise,
    gaussian_interval,
)
from ._persistence import VersionedStateMixin
from ._progress import progress_bar
from ._search import cv_results
from ._validation import atomic_fit, parse_memory_size, seed_from_random_state

# The default grids: 3 input x 4 hidden rates, each with 0 (no dropout), so
# that a table where dropout hurts gets a network without it.
DEFAULT_INPUT_DROPOUTS = (0.0, 0.1, 0.2)
DEFAULT_HIDDEN_DROPOUTS = (0.0, 0.1, 0.3, 0.5)
# Memory for the members trained at once when max_members=None.
_DEFAULT_BUDGET = "1GB"

# The plain estimators' parameters that the CV estimators replace or drop:
# the rates become grids, and every fit starts afresh.
_REPLACED = ("input_dropout", "hidden_dropout", "warm_start")


class _BaseDropoutMLPCV(VersionedStateMixin, BaseEstimator):
    """What the cross-validated classifier and regressor share."""

    _plain: ClassVar[type[_BaseDropoutMLP]]

    _parameter_constraints: ClassVar[dict] = {
        **{
            k: v
            for k, v in _BaseDropoutMLP._parameter_constraints.items()
            if k not in _REPLACED
        },
        "input_dropouts": ["array-like"],
        "hidden_dropouts": ["array-like"],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "refit": ["boolean", StrOptions({"ensemble"})],
        "max_members": [Interval(Integral, 1, None, closed="left"), str, None],
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.input_dropouts = input_dropouts
        self.hidden_dropouts = hidden_dropouts
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.max_members = max_members
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout_type = dropout_type
        self.dropout_scaling = dropout_scaling
        self.feature_groups = feature_groups
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.batch_norm = batch_norm
        self.max_norm = max_norm
        self.prior_length_scale = prior_length_scale
        self.device = device

    # ------------------------------------------------------------ checks
    def _template(self):
        """A plain estimator with the shared parameters: it validates and
        encodes the data, and its clones become the members."""
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k in _plain_names(self)
        }
        # Rates are set per setting; 0 until then.
        return self._plain(**params, input_dropout=0.0, hidden_dropout=0.0)

    def _settings(self, template, hidden):
        """The grid as ``(input rate, hidden value as given, rates)``."""
        inputs = _rate_grid(self.input_dropouts, "input_dropouts")
        hiddens = _hidden_grid(self.hidden_dropouts, hidden)
        settings = []
        for a in inputs:
            for given, rates in hiddens:
                settings.append((a, given, (_rate(a), *rates)))
        for a, given, rates in settings:
            if template.solver == "lbfgs":
                template.set_params(input_dropout=a, hidden_dropout=given)
                _check_lbfgs(template, rates)
            if any(math.isnan(r) for r in rates):
                _check_learned(template)
        return settings

    def _folds(self, X, labels, groups, sample_weight):
        classifier = is_classifier(self)
        cv = check_cv(self.cv, labels, classifier=classifier)
        if (
            classifier
            and isinstance(self.cv, Integral | np.integer)
            and labels.ndim == 1
        ):
            found, counts = np.unique(labels, return_counts=True)
            if counts.min() < self.cv:
                raise ValueError(
                    f"cv={self.cv} makes stratified folds, which need at least "
                    f"{self.cv} samples of every class; class "
                    f"{found.tolist()[counts.argmin()]!r} has {counts.min()}. Use "
                    "a smaller cv."
                )
        folds = list(cv.split(X, labels, groups))
        if not folds:
            raise ValueError(f"cv={self.cv!r} gives no split")
        if sample_weight is not None:
            for k, (train, _) in enumerate(folds):
                if not np.any(sample_weight[train] > 0):
                    raise ValueError(
                        f"sample_weight is zero on every training row of split "
                        f"{k}: its networks would learn nothing; give rows of "
                        "every training fold a positive weight"
                    )
        return folds

    def _budget(self, spec, config, n_validation):
        """The most members trained at once."""
        if isinstance(self.max_members, Integral | np.integer):
            return int(self.max_members)
        text = _DEFAULT_BUDGET if self.max_members is None else self.max_members
        budget = parse_memory_size(
            text,
            "max_members",
            "a positive int, a memory size such as '500MB' or '2GB', or None",
        )
        try:
            return members_in_budget(spec, config.batch_size, n_validation, budget)
        except ValueError as exc:
            raise ValueError(
                f"max_members={text!r} {exc}. Give a larger budget or an int."
            ) from None

    # --------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight, groups):
        with _speaking_as(self):
            return self._fit_grid(X, y, sample_weight, groups)

    def _fit_grid(self, X, y, sample_weight, groups):
        # The test folds are scored on the data as given (a DataFrame keeps
        # its categories), so it must be indexable by rows.
        X, y, groups = indexable(X, y, groups)
        template = self._template()
        problem = template._training_problem(X, y, sample_weight)
        settings = self._settings(template, problem.spec.hidden_layer_sizes)
        W = problem.sample_weight
        folds = self._folds(problem.X, problem.labels, groups, W)
        config, targets, runs = template._training_members(
            problem, [train for train, _ in folds]
        )
        plans = [
            MemberPlan(
                rates, problem.seeds[:3], run.train_rows, run.validation_rows, target=k
            )
            for _, _, rates in settings
            for k, run in enumerate(runs)
        ]
        spec = replace(problem.spec, rates=settings[0][2])
        fits, seconds = self._train(
            spec, plans, problem.head, config, problem.X, targets, W
        )
        members = [
            self._member(template, problem, settings[m // len(runs)], runs, m, fit)
            for m, fit in enumerate(fits)
        ]
        self._score(X, y, members, fits, folds, settings, seconds)
        self._copy_data_attributes(problem.state)
        best = self.best_index_
        a, given, _ = settings[best]
        self.input_dropout_, self.hidden_dropout_ = a, given
        picked = slice(best * len(folds), (best + 1) * len(folds))
        for name in ("best_estimator_", "estimators_", "refit_epochs_"):
            self.__dict__.pop(name, None)
        chosen = self._after_selection(
            members[picked], template, problem, runs, fits[picked], folds
        )
        if self.refit == "ensemble":
            self.estimators_ = chosen
        elif self.refit:
            self.best_estimator_ = self._refit(
                X, y, sample_weight, a, given, chosen, fits, best, len(folds)
            )
            self._after_refit(self.best_estimator_)
        self._seeds = list(problem.seeds)
        return self

    def _member(self, template, problem, setting, runs, m, fit, held_out=None):
        """Member ``m`` of the grid (fold ``m % len(runs)`` of ``setting``)
        as a fitted plain estimator."""
        a, given, _ = setting
        est = clone(template).set_params(input_dropout=a, hidden_dropout=given)
        return est._from_member(problem, runs[m % len(runs)], fit, held_out)

    def _after_selection(self, chosen, template, problem, runs, fits, folds):
        """The chosen setting's fold networks, with the fitted attributes
        that need their held-out rows (the regressor's noise variance); as
        they are here."""
        del template, problem, runs, fits, folds
        return chosen

    def _after_refit(self, estimator):
        """Adjust the refitted ``best_estimator_``; nothing here."""
        del estimator

    def _train(self, spec, plans, head, config, X, Y, W):
        """Every member, in passes of at most the budget; the fits and each
        member's share of its pass's wall time."""
        n_val = max(
            (len(p.validation_rows) for p in plans if p.validation_rows is not None),
            default=0,
        )
        size = self._budget(spec, config, n_val)
        device = resolve_device(self.device)
        fits, seconds = [], []
        n_passes = -(-len(plans) // size)
        with progress_bar(
            total=self.max_iter * n_passes,
            verbose=self.verbose,
            desc=type(self).__name__,
            unit="epoch",
        ) as bar:
            for start in range(0, len(plans), size):
                part = plans[start : start + size]
                done = bar.n

                def progress(epoch, alive, done=done):
                    bar.update(done + epoch - bar.n)
                    bar.set_postfix(training=alive)

                began = time.perf_counter()
                fits += train_members(
                    spec,
                    part,
                    head,
                    config,
                    X,
                    Y,
                    W,
                    self.max_iter,
                    device=device,
                    progress=progress,
                )
                seconds += [(time.perf_counter() - began) / len(part)] * len(part)
                bar.update(done + self.max_iter - bar.n)
        return fits, np.asarray(seconds)

    def _score(self, X, y, members, fits, folds, settings, seconds):
        """``cv_results_`` and the best setting, from each member's score on
        its test fold (rows it never saw, neither in training nor for early
        stopping)."""
        scorer = check_scoring(members[0], scoring=self.scoring)
        n_folds = len(folds)
        scores = np.full(len(members), np.nan)
        score_time = np.zeros(len(members))
        failed = []
        for m, (est, fit) in enumerate(zip(members, fits, strict=True)):
            _, test = folds[m % n_folds]
            began = time.perf_counter()
            if fit.error is None:
                try:
                    scores[m] = scorer(
                        est, _safe_indexing(X, test), _safe_indexing(y, test)
                    )
                except FloatingPointError as exc:
                    fit.error = str(exc)
            score_time[m] = time.perf_counter() - began
            if fit.error is not None:
                failed.append((m, fit.error))
        if failed:
            m, error = failed[0]
            a, given, _ = settings[m // n_folds]
            warnings.warn(
                f"{len(failed)} of the {len(members)} networks of the grid "
                f"diverged and score NaN, the first at input_dropout={a}, "
                f"hidden_dropout={given}, split {m % n_folds}: {error}",
                FitFailedWarning,
                stacklevel=7,
            )
        table = scores.reshape(len(settings), n_folds)
        if np.isnan(table.mean(axis=1)).all():
            raise FloatingPointError(
                "No setting of the grid has a score on every split: every setting "
                "has a network that diverged (see the warning above)."
            )
        unconverged = sum(1 for f in fits if f.error is None and not f.result.converged)
        if unconverged:
            warnings.warn(
                f"{type(self).__name__}: {unconverged} of the {len(fits)} networks "
                f"reached max_iter={self.max_iter} before their stopping rule; "
                "increase max_iter if the scores are still improving.",
                ConvergenceWarning,
                stacklevel=7,
            )
        params = [
            {"input_dropout": a, "hidden_dropout": given} for a, given, _ in settings
        ]
        self.cv_results_ = cv_results(
            params,
            table,
            seconds.reshape(table.shape),
            score_time.reshape(table.shape),
        )
        # The first of the best, as in GridSearchCV.
        self.best_index_ = int(np.argmin(self.cv_results_["rank_test_score"]))
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.n_iter_ = np.array([len(f.result.losses) for f in fits]).reshape(
            table.shape
        )
        self.n_splits_ = n_folds
        self.scorer_ = scorer

    def _refit(self, X, y, sample_weight, a, given, chosen, fits, best, n_folds):
        """The plain estimator at the chosen rates on every row, trained for
        the number of epochs cross-validation kept (the best epochs of early
        stopping, else the epochs the stopping rule ran)."""
        kept = [f.best_epoch for f in fits[best * n_folds : (best + 1) * n_folds]]
        epochs = max(1, round(float(np.mean(kept))))
        self.refit_epochs_ = epochs
        est = clone(chosen[0]).set_params(
            input_dropout=a, hidden_dropout=given, early_stopping=False, max_iter=epochs
        )
        with warnings.catch_warnings():
            # Stopping at the epoch count cross-validation chose is the point.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y, sample_weight=sample_weight)

    def _copy_data_attributes(self, learned):
        """What the template learned from the data that describes the
        search's input and classes."""
        for name in ("classes_", "n_features_in_", "feature_names_in_"):
            if name in learned:
                setattr(self, name, learned[name])
            else:
                self.__dict__.pop(name, None)

    # ----------------------------------------------------------- predict
    def _predictors(self):
        check_is_fitted(self)
        if hasattr(self, "estimators_"):
            return self.estimators_
        if not hasattr(self, "best_estimator_"):
            raise AttributeError(
                f"This {type(self).__name__} was fitted with refit=False: it "
                "scored the grid but kept no model to predict with; use "
                "refit=True or refit='ensemble'"
            )
        return [self.best_estimator_]

    def _each(self, method, X, **kwargs):
        """``method`` of every predictor on ``X``; errors name this class."""
        with _speaking_as(self):
            return [getattr(est, method)(X, **kwargs) for est in self._predictors()]

    def _mc_draws(self, X, n_samples, random_state):
        """``n_samples`` Monte Carlo passes shared out over the k predictors
        as evenly as possible (the first ``n_samples % k`` make one more),
        stacked network by network."""
        predictors = self._predictors()
        if (
            not isinstance(n_samples, Integral | np.integer)
            or isinstance(n_samples, bool | np.bool_)
            or n_samples < 1
        ):
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        seed = seed_from_random_state(random_state)
        seeds = np.random.SeedSequence(seed).generate_state(len(predictors))
        counts = [
            len(range(j, n_samples, len(predictors))) for j in range(len(predictors))
        ]
        with _speaking_as(self):
            parts = [
                est.mc_predict(X, n_samples=count, random_state=int(s))
                for est, count, s in zip(predictors, counts, seeds, strict=True)
                if count
            ]
        return np.concatenate(parts, axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


@contextmanager
def _speaking_as(cv_estimator):
    """Errors of the plain estimators inside name the CV estimator the user
    called (``X has 3 features, but DropoutMLPClassifierCV is expecting 4``)."""
    plain = cv_estimator._plain.__name__
    try:
        yield
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if not re.search(rf"\b{plain}\b", message):
            raise
        renamed = re.sub(rf"\b{plain}\b", type(cv_estimator).__name__, message)
        try:
            new = type(exc)(renamed)
        except Exception:
            raise exc from None
        raise new from exc


def _plain_names(cv_estimator):
    return set(inspect.signature(cv_estimator._plain.__init__).parameters) - {"self"}


def _is_rate(value):
    """A float rate or "learned" (not a bool, not another string)."""
    if isinstance(value, str):
        return value == LEARNED
    return isinstance(value, Real | np.number) and not isinstance(value, bool)


def _rate_grid(rates, name):
    """A non-empty 1-d list of rates in [0, 1) or "learned", or a ValueError."""
    what = f"{name} must be a non-empty list of rates in [0, 1) or 'learned'"
    if isinstance(rates, str) or np.ndim(rates) != 1 or len(rates) == 0:
        raise ValueError(f"{what}, got {rates!r}")
    grid = []
    for k, rate in enumerate(rates):
        if not _is_rate(rate):
            raise ValueError(f"{what}, got {rates!r}")
        if rate != LEARNED and not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"{name}[{k}] must be in [0, 1), got {float(rate)!r}")
        grid.append(rate if rate == LEARNED else float(rate))
    return grid


def _hidden_grid(entries, sizes):
    """``(entry as given, per-layer rates)`` for each entry of
    ``hidden_dropouts``: a float for every layer, or one rate per layer."""
    if isinstance(entries, str) or np.ndim(entries) == 0:
        raise ValueError(
            "hidden_dropouts must be a non-empty list whose entries are rates or "
            f"tuples of one rate per hidden layer, got {entries!r}"
        )
    entries = list(entries)
    if not entries:
        raise ValueError("hidden_dropouts must be a non-empty list, got []")
    out = []
    for k, entry in enumerate(entries):
        if _is_rate(entry):
            given = entry if entry == LEARNED else float(entry)
            rates = [_rate(given)] * len(sizes)
        elif isinstance(entry, list | tuple | np.ndarray) and all(
            _is_rate(r) for r in entry
        ):
            given = tuple(r if r == LEARNED else float(r) for r in entry)
            rates = [_rate(r) for r in given]
            if len(rates) != len(sizes):
                raise ValueError(
                    f"hidden_dropouts[{k}]={entry!r} has {len(rates)} rates but "
                    f"hidden_layer_sizes has {len(sizes)} layers"
                )
        else:
            raise ValueError(
                f"hidden_dropouts[{k}] must be a rate or a tuple of one rate per "
                f"hidden layer, got {entry!r}"
            )
        for rate in rates:
            if not (math.isnan(rate) or 0.0 <= rate < 1.0):
                raise ValueError(
                    f"hidden_dropouts[{k}] must hold rates in [0, 1), got {entry!r}"
                )
        out.append((given, rates))
    return out


class DropoutMLPClassifierCV(ClassifierMixin, _BaseDropoutMLPCV):
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
        scored without sample weights, as in ``GridSearchCV``.
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

    Attributes
    ----------
    input_dropout_ : float
        The chosen input rate.
    hidden_dropout_ : float or tuple of float
        The chosen hidden rate(s), as given in ``hidden_dropouts``.
    best_score_ : float
        The mean test-fold score of the chosen setting.
    best_index_ : int
        Its index in ``cv_results_``.
    cv_results_ : dict of ndarray
        In :class:`~sklearn.model_selection.GridSearchCV`'s format
        (``params``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``split{k}_test_score``, ``mean_fit_time``, ...),
        so that ``pandas.DataFrame(cv_results_)`` works.  A member's fit
        time is its share of the wall time of the batched run that trained
        it.  A member that diverged scores NaN.
    n_iter_ : ndarray of shape (n_settings, n_splits)
        The epochs each member ran.
    estimators_ : list of DropoutMLPClassifier
        With ``refit="ensemble"``: the chosen setting's fold networks.
    best_estimator_ : DropoutMLPClassifier
        With ``refit=True``: the network refitted on every row.
    refit_epochs_ : int
        With ``refit=True``: the epochs of that refit, the mean over folds
        of the epochs each member kept.
    classes_ : ndarray
    n_splits_ : int
    scorer_ : callable
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.

    See Also
    --------
    DropoutMLPClassifier : The network at fixed rates.
    DropoutMLPRegressorCV : The regressor.

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
    >>> bool(search.best_score_ > 0.9)
    True
    """

    _plain = DropoutMLPClassifier

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Score every setting of the grid by cross-validation and keep the
        best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in every member's training loss.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter such as
            :class:`~sklearn.model_selection.GroupKFold` given as ``cv``.

        Returns
        -------
        self : DropoutMLPClassifierCV
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, groups)

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

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

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

    def mc_predict(self, X, n_samples=50, random_state=None):
        """Class probabilities under ``n_samples`` random dropout masks,
        shared out as evenly as possible over the networks of ``estimators_``
        and stacked network by network; see
        :meth:`DropoutMLPClassifier.mc_predict`.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, default=50
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        proba : ndarray of shape (n_samples, n_rows, n_classes)
        """
        return self._mc_draws(X, n_samples, random_state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class DropoutMLPRegressorCV(RegressorMixin, _BaseDropoutMLPCV):
    """Dropout network regressor with its dropout rates chosen by
    cross-validation, every network of the grid trained side by side.

    See :class:`DropoutMLPClassifierCV`; the members are
    :class:`DropoutMLPRegressor` networks.  Read more in the
    :ref:`user guide <mlp_cv>`.

    Parameters
    ----------
    hidden_layer_sizes, activation, input_dropouts, hidden_dropouts, cv, \
refit, max_members, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, \
beta_2, epsilon, n_iter_no_change, max_fun, dropout_type, dropout_scaling, \
feature_groups, categorical_features, max_categories, batch_norm, max_norm, \
prior_length_scale, device
        As in :class:`DropoutMLPClassifierCV`; folds are not stratified.
    scoring : str, callable or None, default=None
        None is R^2.
    loss : {"squared_error"}, default="squared_error"
        As in :class:`DropoutMLPRegressor`.
    target_scaling : {"standard"} or None, default="standard"
        As in :class:`DropoutMLPRegressor`: each member standardizes the
        target with the statistics of its own training fold.

    Attributes
    ----------
    input_dropout_, hidden_dropout_, best_score_, best_index_, cv_results_, \
n_iter_, refit_epochs_, n_splits_, scorer_, n_features_in_, feature_names_in_
        As in :class:`DropoutMLPClassifierCV`.
    estimators_ : list of DropoutMLPRegressor
        With ``refit="ensemble"``: the chosen setting's fold networks, whose
        predictions are averaged.
    best_estimator_ : DropoutMLPRegressor
        With ``refit=True``; its ``noise_variance_`` is the search's.
    noise_variance_ : ndarray of shape (n_outputs,)
        The noise variance per target, in the target's units, which
        ``predict(X, return_std=True)`` and :meth:`predict_interval` add to
        the Monte Carlo variance: the mean over the chosen setting's fold
        networks, weighted by their held-out folds' total sample weight, of
        each one's maximum-likelihood estimate on its own held-out fold (see
        ``DropoutMLPRegressor``'s ``noise_variance``).
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
        "loss": [StrOptions({"squared_error"})],
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
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            input_dropouts=input_dropouts,
            hidden_dropouts=hidden_dropouts,
            cv=cv,
            scoring=scoring,
            refit=refit,
            max_members=max_members,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout_type=dropout_type,
            dropout_scaling=dropout_scaling,
            feature_groups=feature_groups,
            categorical_features=categorical_features,
            max_categories=max_categories,
            batch_norm=batch_norm,
            max_norm=max_norm,
            prior_length_scale=prior_length_scale,
            device=device,
        )
        self.loss = loss
        self.target_scaling = target_scaling

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Score every setting of the grid by cross-validation and keep the
        best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in every member's training loss.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter given as ``cv``.

        Returns
        -------
        self : DropoutMLPRegressorCV
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, groups)

    def _after_selection(self, chosen, template, problem, runs, fits, folds):
        # Each fold network's noise variance on its own held-out fold; the
        # search's is their weighted mean.
        W = problem.sample_weight
        setting = (self.input_dropout_, self.hidden_dropout_, None)
        estimates, totals = [], []
        for k, (_, test) in enumerate(folds):
            total = len(test) if W is None else float(W[test].sum())
            if total > 0:
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
        estimator.noise_variance_ = self.noise_variance_.copy()

    def predict(
        self, X, return_std=False, *, include_noise=True, n_samples=_RETURN_STD_SAMPLES
    ):
        """Predict with the mean of ``estimators_`` or with
        ``best_estimator_``; with ``return_std``, the mean and predictive
        spread of ``n_samples`` Monte Carlo dropout passes (:meth:`mc_predict`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
        include_noise : bool, default=True
            With ``return_std``: add ``noise_variance_`` to the variance of
            the passes (the total predictive std); False gives the model
            (dropout and, for the ensemble, between-network) part only.
        n_samples : int, default=50

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
        y_std : ndarray of the same shape
            Only with ``return_std=True``.
        """
        if return_std:
            mean, variance = self._predictive_moments(X, include_noise, n_samples)
            return mean, np.sqrt(variance)
        return np.mean(self._each("predict", X), axis=0)

    def predict_interval(
        self, X, coverage=0.9, *, include_noise=True, n_samples=_RETURN_STD_SAMPLES
    ):
        """Central Gaussian prediction intervals, as
        :meth:`DropoutMLPRegressor.predict_interval`, from the passes of
        :meth:`mc_predict` and ``noise_variance_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        coverage : float, default=0.9
        include_noise : bool, default=True
        n_samples : int, default=50

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_targets, 2)
        """
        _check_coverage(coverage)
        mean, variance = self._predictive_moments(X, include_noise, n_samples)
        return gaussian_interval(mean, variance, coverage)

    def _predictive_moments(self, X, include_noise, n_samples):
        check_is_fitted(self)
        draws = self.mc_predict(X, n_samples=n_samples, random_state=self._seeds[4])
        mean, variance = draws.mean(axis=0), draws.var(axis=0)
        if include_noise:
            noise = fitted_noise(self, self._predictors()[0].n_outputs_)
            variance = variance + (noise[0] if variance.ndim == 1 else noise)
        return mean, variance

    def mc_predict(self, X, n_samples=50, random_state=None):
        """Predictions under ``n_samples`` random dropout masks, shared out as
        evenly as possible over the networks of ``estimators_`` and stacked
        network by network.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, default=50
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        y : ndarray of shape (n_samples, n_rows) or (n_samples, n_rows, n_targets)
        """
        return self._mc_draws(X, n_samples, random_state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
