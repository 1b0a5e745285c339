"""What the cross-validated dropout networks share: the grid of rates, the
folds, the members trained side by side in passes of a memory budget, their
scores, and the ensemble or refit kept; the public classes are in
:mod:`skdrop.neural_network._cv`."""

from __future__ import annotations

import inspect
import math
import re
import time
import warnings
from contextlib import contextmanager
from dataclasses import replace
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._engine import MemberPlan, members_in_budget, resolve_device, train_members
from ..utils import (
    VersionedStateMixin,
    atomic_fit,
    cv_results,
    parse_memory_size,
    progress_bar,
    seed_from_random_state,
)
from ._base import _BaseDropoutMLP
from ._params import (
    PARAMETER_CONSTRAINTS,
    PRIOR_LENGTH_SCALE,
    check_lbfgs,
    check_learned,
    check_n_samples,
    hidden_grid,
    rate,
    rate_grid,
    set_params_of_init,
)

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
        **{k: v for k, v in PARAMETER_CONSTRAINTS.items() if k not in _REPLACED},
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
        class_weight=None,
        device="cpu",
    ):
        set_params_of_init(self, locals())

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Score every setting of the grid by cross-validation and keep the
        best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The classifier's class labels (or multilabel indicator matrix);
            the regressor's targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in every member's training loss.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter such as
            :class:`~sklearn.model_selection.GroupKFold` given as ``cv``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with _speaking_as(self):
            return self._fit_grid(X, y, sample_weight, groups)

    # ------------------------------------------------------------ checks
    def _template(self):
        """A plain estimator with the shared parameters: it validates and
        encodes the data, and its clones become the members."""
        names = inspect.signature(self._plain.__init__).parameters
        params = {k: v for k, v in self.get_params(deep=False).items() if k in names}
        # Rates are set per setting; 0 until then.
        return self._plain(**params, input_dropout=0.0, hidden_dropout=0.0)

    def _settings(self, template, hidden):
        """The grid as ``(input rate, hidden value as given, rates)``."""
        inputs = rate_grid(self.input_dropouts, "input_dropouts")
        hiddens = hidden_grid(self.hidden_dropouts, hidden)
        settings = []
        for a in inputs:
            for given, rates in hiddens:
                settings.append((a, given, (rate(a), *rates)))
        for a, given, rates in settings:
            if template.solver == "lbfgs":
                template.set_params(input_dropout=a, hidden_dropout=given)
                check_lbfgs(template, rates)
            if any(math.isnan(r) for r in rates):
                check_learned(template)
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
                    f"{found.tolist()[counts.argmin()]!r} has {counts.min()} "
                    "sample(s). Use a smaller cv."
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
                stacklevel=6,
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
                stacklevel=6,
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

    def mc_predict(self, X, n_samples=50, random_state=None):
        """The networks' ``mc_predict`` under ``n_samples`` random dropout
        masks, shared out as evenly as possible over the networks of
        ``estimators_`` (the first ``n_samples % k`` of the k make one more)
        and stacked network by network.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, default=50
            Number of stochastic forward passes.
        random_state : int, RandomState instance or None, default=None
            Seeds the masks.

        Returns
        -------
        draws : ndarray of shape (n_samples, n_rows) or \
(n_samples, n_rows, n_outputs)
            The classifier's class probabilities (``n_outputs`` classes);
            the regressor's predictions, 2-d for a single target.
        """
        predictors = self._predictors()
        check_n_samples(n_samples)
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
        tags.input_tags.sparse = True  # densified once (see train_members)
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
