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
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, _fit_context, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from .._engine import MemberPlan, members_in_budget, resolve_device, train_members
from ..utils import (
    ERROR_SCORE_CONSTRAINT,
    VersionedStateMixin,
    atomic_fit,
    best_candidate,
    cv_results,
    parse_memory_size,
    progress_bar,
    score_or_error_score,
    scorer_knowing_classes,
    seed_from_random_state,
    warn_or_raise_fit_failures,
)
from ._base import _BaseDropoutMLP
from ._params import (
    PARAMETER_CONSTRAINTS,
    check_lbfgs,
    check_learned,
    check_n_samples,
    hidden_grid,
    rate,
    rate_grid,
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
        "n_jobs": [Integral, None],
        "error_score": ERROR_SCORE_CONSTRAINT,
    }

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
            # A smaller class only misses some folds (StratifiedKFold warns),
            # as in GridSearchCV: the classes are learned on every row.
            found, counts = np.unique(labels, return_counts=True)
            if counts.max() < self.cv:
                raise ValueError(
                    f"cv={self.cv} makes stratified folds, which need {self.cv} "
                    "samples of some class; the largest, "
                    f"{found.tolist()[counts.argmax()]!r}, has {counts.max()} "
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
        # Classes are learned on every row: a test fold missing one still
        # scores against every column.
        classes = problem.state.get("classes_") if problem.labels.ndim == 1 else None
        self._score(X, y, members, fits, folds, settings, seconds, classes)
        self._copy_data_attributes(problem.state)
        best = self.best_index_
        setting = settings[best]
        picked = slice(best * len(folds), (best + 1) * len(folds))
        for name in ("best_estimator_", "estimators_", "refit_epochs_"):
            self.__dict__.pop(name, None)
        self.refit_time_ = 0.0
        if self.refit == "ensemble":
            self._check_ensemble(fits[picked], setting)
        chosen = self._after_selection(
            members[picked], setting, template, problem, runs, fits[picked], folds
        )
        if self.refit == "ensemble":
            self.estimators_ = chosen
        elif self.refit:
            began = time.perf_counter()
            self.best_estimator_ = self._refit(
                X, y, sample_weight, setting, chosen, fits[picked]
            )
            self._after_refit(self.best_estimator_)
            self.refit_time_ = time.perf_counter() - began
        self._describe_model(chosen)
        self._seeds = list(problem.seeds)
        return self

    def _describe_model(self, chosen):
        """``input_dropout_``, ``hidden_dropout_`` and ``n_iter_`` of the
        model that predicts: the refitted network, else the chosen setting's
        fold networks (their mean rates, the most epochs one ran)."""
        models = [self.best_estimator_] if hasattr(self, "best_estimator_") else chosen
        self.input_dropout_ = np.mean([m.input_dropout_ for m in models], axis=0)
        hidden = np.mean([m.hidden_dropout_ for m in models], axis=0)
        self.hidden_dropout_ = [float(r) for r in np.atleast_1d(hidden)]
        self.n_iter_ = max(int(m.n_iter_) for m in models)

    def _check_ensemble(self, fits, setting):
        """The ensemble keeps the chosen setting's fold networks: each must
        have trained (GridSearchCV's refit would raise likewise)."""
        for k, fit in enumerate(fits):
            if fit.error is not None:
                a, given, _ = setting
                raise FloatingPointError(
                    f"refit='ensemble' keeps the fold networks of the chosen "
                    f"setting input_dropout={a!r}, hidden_dropout={given!r}, but "
                    f"its network of split {k} failed: {fit.error}. Use "
                    "refit=True, or settings and data on which the networks train."
                )

    def _member(self, template, problem, setting, runs, m, fit, held_out=None):
        """Member ``m`` of the grid (fold ``m % len(runs)`` of ``setting``)
        as a fitted plain estimator."""
        a, given, _ = setting
        est = clone(template).set_params(input_dropout=a, hidden_dropout=given)
        return est._from_member(problem, runs[m % len(runs)], fit, held_out)

    def _after_selection(self, chosen, setting, template, problem, runs, fits, folds):
        """The chosen setting's fold networks, with the fitted attributes
        that need their held-out rows (the regressor's noise variance); as
        they are here."""
        del setting, template, problem, runs, fits, folds
        return chosen

    def _after_refit(self, estimator):
        """Adjust the refitted ``best_estimator_``; nothing here."""
        del estimator

    def _train(self, spec, plans, head, config, X, Y, W):
        """Every member, in passes of at most the budget, the passes as
        joblib jobs (``n_jobs``); the fits and each member's share of its
        pass's wall time.  A pass's result does not depend on where it runs,
        so the jobs give the sequential run's networks bit for bit."""
        n_val = max(
            (len(p.validation_rows) for p in plans if p.validation_rows is not None),
            default=0,
        )
        size = self._budget(spec, config, n_val)
        device = resolve_device(self.device)
        passes = [plans[start : start + size] for start in range(0, len(plans), size)]
        args = (head, config, X, Y, W, self.max_iter, device)
        results = []
        with progress_bar(
            total=self.max_iter * len(passes),
            verbose=self.verbose,
            desc=type(self).__name__,
            unit="epoch",
        ) as bar:
            if len(passes) > 1 and effective_n_jobs(self.n_jobs) != 1:
                jobs = Parallel(n_jobs=self.n_jobs, return_as="generator")(
                    delayed(_timed_pass)(spec, part, *args) for part in passes
                )
                for result in jobs:
                    results.append(result)
                    bar.update(self.max_iter)
            if len(passes) - len(results) > 1 and sp.issparse(X):
                # The passes run here share one dense copy of a sparse X
                # (train_members would densify it for each pass).
                args = (head, config, sp.csr_matrix(X).toarray(), *args[3:])
            for part in passes[len(results) :]:
                done = bar.n

                def progress(epoch, alive, done=done):
                    bar.update(done + epoch - bar.n)
                    bar.set_postfix(training=alive)

                results.append(_timed_pass(spec, part, *args, progress=progress))
                bar.update(done + self.max_iter - bar.n)
        fits = [fit for part_fits, _ in results for fit in part_fits]
        seconds = [t / len(f) for f, t in results for _ in f]
        return fits, np.asarray(seconds)

    def _score(self, X, y, members, fits, folds, settings, seconds, classes):
        """``cv_results_`` and the best setting, from each member's score on
        its test fold (rows it never saw, neither in training nor for early
        stopping), with GridSearchCV's rules for failures (``error_score``)."""
        scorer = scorer_knowing_classes(
            check_scoring(members[0], scoring=self.scoring), classes
        )
        n_folds = len(folds)
        scores = np.full(len(members), np.nan)
        score_time = np.zeros(len(members))
        for m, (est, fit) in enumerate(zip(members, fits, strict=True)):
            _, test = folds[m % n_folds]
            began = time.perf_counter()
            if fit.error is None:
                scores[m] = self._score_member(
                    scorer, est, fit, _safe_indexing(X, test), _safe_indexing(y, test)
                )
            if fit.error is not None:
                if self.error_score == "raise":
                    a, given, _ = settings[m // n_folds]
                    raise FloatingPointError(
                        f"The network at input_dropout={a!r}, hidden_dropout="
                        f"{given!r} on split {m % n_folds} failed: {fit.error}"
                    )
                scores[m] = self.error_score
            score_time[m] = time.perf_counter() - began
        warn_or_raise_fit_failures([f.error for f in fits], self.error_score)
        unconverged = sum(1 for f in fits if f.error is None and not f.result.converged)
        if unconverged:
            warnings.warn(
                f"{type(self).__name__}: {unconverged} of the {len(fits)} networks "
                f"reached max_iter={self.max_iter} before their stopping rule; "
                "increase max_iter if the scores are still improving.",
                ConvergenceWarning,
                stacklevel=6,
            )
        shape = (len(settings), n_folds)
        params = [
            {"input_dropout": a, "hidden_dropout": given} for a, given, _ in settings
        ]
        self.cv_results_ = cv_results(
            params,
            scores.reshape(shape),
            seconds.reshape(shape),
            score_time.reshape(shape),
        )
        # The epochs of each member (n_iter_ is the fitted model's).
        epochs = np.array([len(f.result.losses) for f in fits]).reshape(shape)
        for k in range(n_folds):
            self.cv_results_[f"split{k}_n_iter"] = epochs[:, k]
        self.best_index_, self.best_score_, self.best_params_ = best_candidate(
            self.cv_results_
        )
        self.n_splits_ = n_folds
        self.scorer_ = scorer

    def _score_member(self, scorer, est, fit, X_test, y_test):
        """A member's test score: a network whose outputs are not finite
        failed its fit (NaN here, ``error_score`` once counted); a scorer
        that raises gives ``error_score`` and GridSearchCV's warning."""
        try:
            return score_or_error_score(
                scorer,
                est,
                X_test,
                y_test,
                self.error_score,
                passes=(FloatingPointError,),
            )
        except FloatingPointError as exc:
            fit.error = str(exc)
        return np.nan

    def _refit(self, X, y, sample_weight, setting, chosen, fits):
        """The plain estimator at the chosen rates on every row, trained for
        the number of epochs cross-validation kept (the best epochs of early
        stopping, else the epochs the stopping rule ran; the members that
        failed left out)."""
        kept = [f.best_epoch for f in fits if f.error is None]
        epochs = max(1, round(float(np.mean(kept)))) if kept else self.max_iter
        self.refit_epochs_ = epochs
        a, given, _ = setting
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
        """``method`` of every predictor on ``X``."""
        predictors = self._predictors()
        with self._predicting(X):
            return [getattr(est, method)(X, **kwargs) for est in predictors]

    @contextmanager
    def _predicting(self, X):
        """The networks inside predicting on ``X`` as one model: its feature
        names checked once, warnings and errors naming this class."""
        with _speaking_as(self):
            _check_feature_names(self, X, reset=False)
            with warnings.catch_warnings():
                # Said once above, for this estimator.
                warnings.filterwarnings(
                    "ignore", "X (does not have valid|has) feature names", UserWarning
                )
                yield

    def mc_predict(self, X, n_samples=50, random_state=None):
        """The networks' ``mc_predict`` under random dropout masks, every
        network of ``estimators_`` making ``ceil(n_samples / k)`` passes of
        the k, stacked network by network.

        Every network counts the same in the draws' mean, which with no
        dropout is :meth:`predict`'s (to float rounding), also for
        ``n_samples`` below k.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, default=50
            Number of stochastic forward passes, rounded up to a multiple of
            the number of networks.
        random_state : int, RandomState instance or None, default=None
            Seeds the masks.

        Returns
        -------
        draws : ndarray of shape (n_draws, n_rows) or \
(n_draws, n_rows, n_outputs)
            ``n_draws = k * ceil(n_samples / k)``.  The classifier's class
            probabilities (``n_outputs`` classes); the regressor's
            predictions, 2-d for a single target.
        """
        predictors = self._predictors()
        check_n_samples(n_samples)
        passes = _passes_each(n_samples, len(predictors))
        seed = seed_from_random_state(random_state)
        seeds = np.random.SeedSequence(seed).generate_state(len(predictors))
        with self._predicting(X):
            parts = [
                est.mc_predict(X, n_samples=passes, random_state=int(s))
                for est, s in zip(predictors, seeds, strict=True)
            ]
        return np.concatenate(parts, axis=0)

    def __setstate__(self, state):
        super().__setstate__(state)  # new parameters get their defaults
        if "cv_results_" in state and "best_params_" not in state:
            self._upgrade_search()

    def _upgrade_search(self):
        """A search saved by 0.2: its members' epochs (then ``n_iter_``)
        move to ``cv_results_``, and the search interface and the fitted
        rates of 0.3 are rebuilt from what it kept."""
        epochs = np.asarray(self.n_iter_)
        for k in range(epochs.shape[1]):
            self.cv_results_[f"split{k}_n_iter"] = epochs[:, k]
        self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
        self.refit_time_ = float("nan")  # not recorded before 0.3
        models = getattr(self, "estimators_", None)
        if models is not None or hasattr(self, "best_estimator_"):
            self._describe_model(models)
        else:  # refit=False kept no model, nor its rates
            for name in ("input_dropout_", "hidden_dropout_"):
                self.__dict__.pop(name, None)
            self.n_iter_ = int(epochs[self.best_index_].max())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True  # densified once (see train_members)
        return tags


def _passes_each(n_samples, n_networks):
    """Monte Carlo passes of each of ``n_networks``: ``n_samples`` shared out
    evenly, rounded up, so that every network counts the same."""
    return -(-int(n_samples) // n_networks)


def _timed_pass(spec, plans, head, config, X, Y, W, epochs, device, progress=None):
    """One pass of members (a joblib job with ``n_jobs``): the fits and the
    pass's wall time."""
    began = time.perf_counter()
    fits = train_members(
        spec, plans, head, config, X, Y, W, epochs, device=device, progress=progress
    )
    return fits, time.perf_counter() - began


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
