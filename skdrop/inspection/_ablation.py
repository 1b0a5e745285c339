"""Feature-ablation importance: how much a model's score depends on a feature.

The tools here use the estimators through their public API only (``fit``,
``predict``, ``get_params``/``set_params``, documented fitted attributes, and
``drop_column_refits`` where an estimator offers exact refits: see
:mod:`skdrop.inspection._exact_refits`).
"""

from __future__ import annotations

import copy
from numbers import Integral, Number, Real

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions, validate_params
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ..utils import (
    column_position,
    is_categorical_dtype,
    progress_bar,
    resolve_feature_groups,
    scoring_name,
    seed_from_random_state,
)
from ._ablation_result import AblationImportance, corrected_t_interval
from ._exact_refits import exact_refit_scores, exact_refits_offered


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "feature_groups": [list, tuple, dict, None],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "method": [StrOptions({"refit", "mask", "permutation"})],
        "n_repeats": [Integral],
        "confidence_level": [Real],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def ablation_importance(
    estimator,
    X,
    y,
    *,
    feature_groups=None,
    cv=5,
    scoring=None,
    n_jobs=None,
    random_state=None,
    method="refit",
    n_repeats=1,
    confidence_level=0.95,
    verbose=False,
):
    """Importance of each feature (or group) as the score lost without it.

    For every cross-validation split the estimator is fitted on the training
    part and scored on the held-out part; the importance of a feature is that
    baseline score minus the held-out score without the feature, so it is
    measured on data the model did not see, with one value per split for the
    spread.  The fits of one split share their seeds (common random numbers),
    and each importance comes with a confidence interval over the splits
    that says whether it is distinguishable from 0.  Read more in the
    :ref:`user guide <ablation_importance>`.

    Parameters
    ----------
    estimator : estimator object
        An estimator implementing ``fit`` (unfitted is fine except with
        ``cv="prefit"``); it is cloned for every fit.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data, as the estimator takes it: categorical columns that the
        estimator encodes itself are one column, so ablating one removes its
        whole one-hot block.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    feature_groups : list of lists, dict or None, default=None
        Columns of ``X`` to ablate together (indices, or names for a
        DataFrame), such as the one-hot columns of one feature; a dict maps a
        label to each group's columns.  Columns in no group are ablated on
        their own.  None uses the estimator's own groups when it has a
        ``feature_groups`` parameter that is set (read from the fitted
        ``feature_groups_``), else each column alone.  In a Pipeline the
        groups of a final skdrop step refer to transformed columns: pass them
        here in terms of ``X``.
    cv : int, cross-validation generator, iterable or "prefit", default=5
        The splits, as in :func:`~sklearn.model_selection.cross_validate`.
        ``"prefit"`` (with ``method="mask"`` or ``"permutation"``) scores the
        already fitted ``estimator`` on ``X, y`` without refitting: one
        split, so no interval.
    scoring : str, callable or None, default=None
        One scorer, as in :func:`~sklearn.model_selection.cross_val_score`;
        None is the estimator's ``score``.
    n_jobs : int, default=None
        Fits to run in parallel with joblib, over features and splits; a
        ``joblib.parallel_backend`` context (``"dask"``, ``"ray"``) spreads
        them over a cluster.
    random_state : int, RandomState instance or None, default=None
        Seeds the fits, the permutations, and the shuffles of the rows
        before an integer ``cv`` splits them (with ``n_repeats=1`` and
        ``random_state=None`` an integer ``cv`` does not shuffle, as in
        scikit-learn).  Every split draws a seed, which every
        ``random_state`` parameter of the estimator (nested ones of a
        Pipeline's steps too) takes in the baseline fit and in each ablated
        fit of that split, replacing the estimator's own: common random
        numbers, so that the training noise of a stochastic estimator
        cancels in the difference, while the spread over splits still
        includes it.  None draws the seeds from fresh operating-system
        entropy (numpy's global generator is never used).
    method : {"refit", "mask", "permutation"}, default="refit"
        ``"refit"`` fits the estimator again without the feature (drop-column
        importance).  ``"mask"`` keeps the model fitted on all features and
        scores held-out data with the feature set to what input dropout
        presents when it drops it: 0 for a numeric column, missing (an
        all-zero one-hot block) for a categorical column the estimator
        encodes.  ``"permutation"`` scores with the feature's columns
        shuffled together across rows.
    n_repeats : int, default=1
        Times to run the whole cross-validation, each time with new
        shuffles of the rows and new seeds for the fits.  An integer ``cv``
        is then shuffled; a splitter must be able to draw anew (one with
        ``shuffle=True`` or a ``ShuffleSplit``: its ``random_state`` is
        replaced for each repeat after the first), a fixed list of splits
        cannot.
    confidence_level : float, default=0.95
        Coverage of the interval given for each importance, in (0, 1).
    verbose : bool, default=False
        Show a progress bar over the fits.

    Returns
    -------
    result : Bunch
        With a ``to_frame()`` method and the attributes:

        importances_mean : ndarray of shape (n_units,)
            Mean over splits and repeats; ``n_units`` is the number of
            features or groups.
        importances_std : ndarray of shape (n_units,)
            Standard deviation over splits and repeats.
        importances_ci : ndarray of shape (n_units, 2)
            Lower and upper bounds of the corrected resampled t interval of
            each mean (see Notes); NaN with a single split (``cv="prefit"``).
        distinguishable : ndarray of bool of shape (n_units,)
            Whether the interval excludes 0; False where it is NaN.
        confidence_level : float
            The coverage of ``importances_ci``.
        importances : ndarray of shape (n_units, n_splits * n_repeats)
            Baseline score minus ablated score, per split; the splits of
            repeat ``r`` are the columns ``r * n_splits`` onwards.
        baseline_scores : ndarray of shape (n_splits * n_repeats,)
            Held-out score with every feature.
        split_seeds : ndarray of int of shape (n_splits * n_repeats,) or None
            The seed every ``random_state`` of the estimator took in the
            fits of each split; None with ``cv="prefit"``, which fits
            nothing.
        feature_names : ndarray of str of shape (n_units,)
            Column names, group labels, or ``x0, x1, ...`` for an array.
        feature_groups : list of ndarray
            The columns of ``X`` in each unit.
        method, scoring : str
            What was computed.

    Notes
    -----
    The interval is Nadeau and Bengio's (2003) corrected resampled t
    interval: with ``J = n_splits * n_repeats`` importances of sample
    variance :math:`s^2`, the mean's variance is taken as
    :math:`s^2 (1/J + n_{test}/n_{train})` (the ratio averaged over the
    splits) and the quantile from Student's t with ``J - 1`` degrees of
    freedom.  The textbook :math:`s^2/J` assumes independent values, but
    cross-validation splits share most of their training rows, so their
    importances are correlated and that interval is too narrow (a feature
    of no use looks important far more often than 5%); the extra term is
    their estimate of the correlation's share, and keeps the interval from
    shrinking to nothing with more repeats, which resample the same rows.
    It is about the importance a fit on this much data has, not about one
    fitted model.  With a single split (``cv="prefit"``) there is no spread
    to estimate: the bounds are NaN and no importance is distinguishable.

    ``"refit"`` answers "how good is a model that never had this feature";
    correlated features share their importance, since the model can lean on
    the remaining ones.  ``"mask"`` answers what the fitted model loses when
    the feature goes missing.  It is only meaningful for a model trained with
    input dropout, which saw inputs dropped to 0 during training and
    learned to predict without them; for a model trained without input
    dropout, 0 is an input it never saw and the score it gets there says
    little.  ``"mask"`` writes the 0 into ``X``, so a preprocessing step that
    changes what 0 means (a ``StandardScaler`` in a Pipeline) breaks the
    correspondence: scale the data before, or ablate with ``"refit"``.

    Parameters of the estimator that name columns of ``X``
    (``feature_groups``, ``categorical_features``) are adjusted for each
    refit without a column; those of steps inside a Pipeline are not.
    Removing every column leaves the best constant prediction
    (:class:`~sklearn.dummy.DummyRegressor` or ``DummyClassifier``).

    An estimator with a ``drop_column_refits(X, y, column_groups)`` method
    supplies the ``"refit"`` models and the baseline itself, such as
    :meth:`skdrop.DropoutLinearRegression.drop_column_refits` (closed form,
    no categorical columns), which solves them all from one inverse: the
    same values to round-off, at about the cost of one fit.  It does so also
    as the last step of a Pipeline whose other steps are ``StandardScaler``,
    ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler`` or
    ``"passthrough"`` and whose last step has no ``feature_groups``: these
    scale each column by itself, so a refit without a column transforms the
    others exactly as before.  Any other Pipeline refits.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop import DropoutLinearRegression
    >>> from skdrop.inspection import ablation_importance
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> result = ablation_importance(
    ...     DropoutLinearRegression(0.1), X, y, cv=5, n_repeats=5, random_state=0
    ... )
    >>> result.importances.shape  # features x (5 splits x 5 repeats)
    (10, 25)
    >>> frame = result.to_frame().round(3)
    >>> columns = ["importance_mean", "ci_low", "ci_high", "distinguishable"]
    >>> frame[columns].sort_values("importance_mean", ascending=False).head(5)
    ... # doctest: +NORMALIZE_WHITESPACE
             importance_mean  ci_low  ci_high  distinguishable
    feature
    bmi                0.071   0.023    0.119             True
    s5                 0.032   0.012    0.051             True
    bp                 0.027   0.003    0.051             True
    sex                0.016   0.003    0.030             True
    s3                 0.001  -0.007    0.009            False
    """
    X = _as_table(X)
    prefit = isinstance(cv, str)
    _check_call(estimator, X, y, prefit, method, n_repeats, confidence_level)
    scorer = check_scoring(estimator, scoring)
    # None draws fresh entropy: numpy's global generator stays untouched.
    rng = check_random_state(
        seed_from_random_state(None) % 2**32 if random_state is None else random_state
    )
    if prefit:
        splits = [(np.arange(X.shape[0]), np.arange(X.shape[0]))]
        seeds, estimators = None, [estimator]
    else:
        splits = _splits(estimator, X, y, cv, random_state, rng, n_repeats)
        seeds = _distinct_seeds(rng, len(splits))
        estimators = [_with_shared_seed(clone(estimator), s) for s in seeds]
    perm_seeds = rng.randint(0, 2**31 - 1, size=len(splits))
    units, names, first_model = _units(
        estimators[0], X, y, feature_groups, None if prefit else splits[0]
    )
    plan = _tasks(
        estimators, X, y, units, splits, scorer, method, prefit, perm_seeds, first_model
    )
    baseline, ablated = _run(plan, (len(units), len(splits)), n_jobs, verbose, method)
    importances = baseline[None, :] - ablated
    ratio = np.mean([len(test) / max(len(train), 1) for train, test in splits])
    interval = corrected_t_interval(importances, ratio, confidence_level)
    return AblationImportance(
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        importances_ci=interval,
        distinguishable=(interval[:, 0] > 0) | (interval[:, 1] < 0),
        confidence_level=float(confidence_level),
        importances=importances,
        baseline_scores=baseline,
        split_seeds=seeds,
        feature_names=np.asarray(names, dtype=object),
        feature_groups=units,
        method=method,
        scoring=scoring_name(scoring) or "score",
    )


def _check_call(estimator, X, y, prefit, method, n_repeats, confidence_level):
    if isinstance(n_repeats, (bool, np.bool_)) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive int, got {n_repeats!r}")
    if isinstance(confidence_level, (bool, np.bool_)) or not (0 < confidence_level < 1):
        raise ValueError(
            f"confidence_level must be in (0, 1), got {confidence_level!r}"
        )
    if prefit and n_repeats > 1:
        raise ValueError(
            f"cv='prefit' scores one fitted model on one split; n_repeats="
            f"{n_repeats} has nothing to repeat (use n_repeats=1)"
        )
    if len(y) != X.shape[0]:
        raise ValueError(
            f"X and y have different numbers of rows: {X.shape[0]} and {len(y)}"
        )
    if prefit and method == "refit":
        raise ValueError(
            "cv='prefit' scores a fitted model without refitting; it works with "
            "method='mask' or 'permutation', not method='refit'"
        )
    if prefit:
        check_is_fitted(
            estimator,
            msg=(
                "ablation_importance(cv='prefit') needs a fitted estimator; "
                f"fit this {type(estimator).__name__} first or pass cv=5"
            ),
        )


def _run(plan, shape, n_jobs, verbose, method):
    """Run the tasks; the baseline scores per split and the ablated ones per
    unit and split."""
    tasks, keys, done = plan
    parallel = Parallel(n_jobs=n_jobs, return_as="generator" if verbose else "list")
    outputs = parallel(delayed(fn)(*args) for fn, args in tasks)
    baseline = np.full(shape[1], np.nan)
    ablated = np.full(shape, np.nan)
    with progress_bar(
        total=len(tasks) + len(done),
        verbose=verbose,
        desc=f"ablation ({method})",
        unit="fit",
    ) as bar:
        for (split, unit), out in [*done.items(), *zip(keys, outputs, strict=True)]:
            if unit is None:
                baseline[split], scores = out
                if scores is not None:
                    ablated[:, split] = scores
            else:
                ablated[unit, split] = out
            bar.update(1)
    return baseline, ablated


def _as_table(X):
    """``X`` as a DataFrame or a 2-d ndarray, without copying either."""
    if not hasattr(X, "iloc"):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d (n_samples, n_features), got shape {X.shape}")
    if X.shape[1] == 0:
        raise ValueError("X has no columns: there is no feature to ablate")
    return X


def _with_shared_seed(estimator, seed):
    """``seed`` for every ``random_state`` parameter, nested ones included:
    the fits of one split share it (common random numbers)."""
    params = estimator.get_params(deep=True)
    shared = {
        key: int(seed)
        for key in params
        if key == "random_state" or key.endswith("__random_state")
    }
    return estimator.set_params(**shared) if shared else estimator


def _distinct_seeds(rng, n):
    """``n`` different seeds: two splits with one seed would train alike."""
    seeds = rng.randint(0, 2**31 - 1, size=n)
    while len(np.unique(seeds)) < n:
        seeds = rng.randint(0, 2**31 - 1, size=n)
    return seeds


def _splits(estimator, X, y, cv, random_state, rng, n_repeats=1):
    """The (train, test) pairs of every repeat, one repeat after the other."""
    if cv is None:
        cv = 5
    if isinstance(cv, Integral) and (random_state is not None or n_repeats > 1):
        splitter_cls = (
            StratifiedKFold if is_classifier(estimator) and np.ndim(y) == 1 else KFold
        )
        return [
            pair
            for _ in range(n_repeats)
            for pair in splitter_cls(
                n_splits=cv, shuffle=True, random_state=rng.randint(0, 2**31 - 1)
            ).split(X, y)
        ]
    splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(splitter.split(X, y))
    for _ in range(n_repeats - 1):
        splits += list(_redrawn(splitter, cv, n_repeats, rng).split(X, y))
    return splits


def _redrawn(splitter, cv, n_repeats, rng):
    """A copy of ``splitter`` that draws new splits: its ``random_state``
    replaced, where it draws at random at all."""
    shuffles = getattr(splitter, "shuffle", True)
    if not shuffles or not hasattr(splitter, "random_state"):
        shown = (
            repr(cv)
            if hasattr(cv, "split")
            else f"a fixed list of {len(splitter.cv)} splits"
        )
        raise ValueError(
            f"n_repeats={n_repeats} repeats the cross-validation with new "
            f"splits, which cv={shown} cannot draw: pass an int cv or a "
            "splitter that shuffles, such as KFold(5, shuffle=True)"
        )
    splitter = copy.deepcopy(splitter)
    splitter.random_state = int(rng.randint(0, 2**31 - 1))
    return splitter


def _column_names(X) -> list[str]:
    if hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    return [f"x{j}" for j in range(X.shape[1])]


def _units(estimator, X, y, feature_groups, first_split):
    """The columns of ``X`` ablated together, their labels, and maybe a fit.

    Groups read from the estimator need it fitted; that model, fitted on the
    first training split, is returned so the split's baseline reuses it.
    """
    n_features = X.shape[1]
    names = _column_names(X)
    frame_names = names if hasattr(X, "columns") else None
    labels: dict[int, str] = {}
    first_fit = None
    if isinstance(feature_groups, dict):
        specs = [list(v) for v in feature_groups.values()]
        labels_in_order = [str(k) for k in feature_groups]
    else:
        specs = None if feature_groups is None else [list(g) for g in feature_groups]
        labels_in_order = None
    if specs is not None:
        name_to_pos = {} if frame_names is None else {n: i for i, n in enumerate(names)}
        units = resolve_feature_groups(specs, n_features, frame_names)
        for k, spec in enumerate(specs):
            pos = column_position(spec[0], k, n_features, name_to_pos, frame_names)
            if labels_in_order is not None:
                labels[pos] = labels_in_order[k]
    else:
        units, first_fit = _estimator_units(estimator, X, y, first_split)
    out_names = []
    for unit in units:
        first = int(unit[0])
        if first in labels:
            out_names.append(labels[first])
        else:
            out_names.append(_group_label([names[j] for j in unit]))
    return units, out_names, first_fit


def _group_label(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    prefix = prefix.rstrip("_= ")
    return prefix if prefix else "+".join(names)


def _singletons(n_features: int) -> list[np.ndarray]:
    return [np.array([j], dtype=np.intp) for j in range(n_features)]


def _estimator_units(estimator, X, y, first_split):
    """Groups from a skdrop estimator's fitted ``feature_groups_``."""
    params = estimator.get_params(deep=False)
    if params.get("feature_groups") is None:
        return _singletons(X.shape[1]), None
    first_fit = None
    if first_split is None:  # cv="prefit": the estimator is the fitted model
        model = estimator
    else:
        train = first_split[0]
        model = clone(estimator).fit(_safe_indexing(X, train), _safe_indexing(y, train))
        first_fit = model
    groups = getattr(model, "feature_groups_", None)
    if groups is None:
        return _singletons(X.shape[1]), first_fit
    # Encoded columns follow the original ones, a categorical column widened
    # to its block of levels (``categories_``).
    categories = getattr(model, "categories_", {})
    keys = list(X.columns) if hasattr(X, "columns") else range(X.shape[1])
    widths = [len(categories.get(key, [None])) for key in keys]
    owner = np.repeat(np.arange(X.shape[1]), widths)
    units = [np.unique(owner[np.asarray(g)]) for g in groups]
    units.sort(key=lambda u: int(u[0]))
    return units, first_fit


def _tasks(estimators, X, y, units, splits, scorer, method, prefit, perm_seeds, first):
    """The work as (function, args) pairs, what each result belongs to, and
    the results computed already, by key.

    ``estimators`` holds the estimator of each split, seeded for it (with
    ``prefit``, the one fitted model).  A result keyed ``(split, None)`` is
    ``(baseline, scores or None)``; one keyed ``(split, unit)`` is that
    unit's ablated score.  ``first`` is a model already fitted on the first
    training split, or None.  When the estimator offers exact drop-column
    refits, the first split runs here: whether the estimator accepts decides
    how the other splits are planned.
    """
    tasks, keys, done = [], [], {}
    exact = method == "refit" and exact_refits_offered(estimators[0])
    if exact:
        train, test = splits[0]
        out = _exact_scores(estimators[0], first, X, y, train, test, units, scorer)
        exact = out is not None
        if exact:
            done[(0, None)] = out
    for s, (train, test) in enumerate(splits):
        estimator = estimators[s]
        fitted = estimator if prefit else (first if s == 0 else None)
        if (s, None) in done:
            continue
        if method != "refit":
            args = (estimator, fitted, X, y, train, test, units, scorer, method)
            tasks.append((_scores_without_refit, (*args, perm_seeds[s])))
            keys.append((s, None))
            continue
        if exact:
            args = (estimator, None, X, y, train, test, units, scorer)
            tasks.append((_exact_or_refit_scores, args))
            keys.append((s, None))
            continue
        tasks.append(
            (_refit_score, (estimator, fitted, X, y, train, test, None, scorer))
        )
        keys.append((s, None))
        for u, unit in enumerate(units):
            tasks.append(
                (_refit_score, (estimator, None, X, y, train, test, unit, scorer))
            )
            keys.append((s, u))
    return tasks, keys, done


def _exact_scores(estimator, model, X, y, train, test, units, scorer):
    """The estimator's exact refits scored, or None when it declines; a unit
    of every column leaves the best constant.  ``model`` is the fit on
    ``train`` or None."""
    out = exact_refit_scores(estimator, model, X, y, train, test, units, scorer)
    if out is None:
        return None
    for k, unit in enumerate(units):
        if len(unit) == X.shape[1]:
            out[1][k] = _refit_score(estimator, None, X, y, train, test, unit, scorer)
    return out


def _exact_or_refit_scores(estimator, fitted, X, y, train, test, units, scorer):
    """Baseline and ablated scores of one split: exact refits where the
    estimator accepts this split's data, else refits."""
    out = _exact_scores(estimator, fitted, X, y, train, test, units, scorer)
    if out is not None:
        return out
    model = _fit_on(estimator, fitted, X, y, train)
    base = scorer(model, _safe_indexing(X, test), _safe_indexing(y, test))
    scores = [
        _refit_score(estimator, None, X, y, train, test, unit, scorer) for unit in units
    ]
    return base, np.asarray(scores, dtype=np.float64)


def _fit_on(estimator, fitted, X, y, train):
    if fitted is not None:
        return fitted
    return clone(estimator).fit(_safe_indexing(X, train), _safe_indexing(y, train))


def _refit_score(estimator, fitted, X, y, train, test, unit, scorer):
    """Held-out score of a fit on every column (``unit`` None) or without some.

    A baseline task returns ``(score, None)``; an ablated one its score.
    """
    if unit is None:
        model = _fit_on(estimator, fitted, X, y, train)
        score = scorer(model, _safe_indexing(X, test), _safe_indexing(y, test))
        return score, None
    keep = np.setdiff1d(np.arange(X.shape[1]), unit)
    y_train, y_test = _safe_indexing(y, train), _safe_indexing(y, test)
    if keep.size == 0:
        model = _constant_model(estimator).fit(np.zeros((len(train), 1)), y_train)
        return scorer(model, np.zeros((len(test), 1)), y_test)
    model = _without_columns(clone(estimator), unit, X)
    model.fit(_safe_indexing(_safe_indexing(X, train), keep, axis=1), y_train)
    return scorer(model, _safe_indexing(_safe_indexing(X, test), keep, axis=1), y_test)


def _constant_model(estimator):
    """What a model with no features predicts: the best constant."""
    if is_classifier(estimator):
        return DummyClassifier(strategy="prior")
    if estimator.get_params(deep=False).get("fit_intercept") is False:
        return DummyRegressor(strategy="constant", constant=0.0)
    return DummyRegressor(strategy="mean")


def _without_columns(estimator, unit, X):
    """Adjust the parameters that name columns of ``X`` to ``X`` without
    ``unit``: drop the removed columns and shift the later indices."""
    dropped = {int(j) for j in unit}
    names = _column_names(X) if hasattr(X, "columns") else []
    dropped_names = {names[j] for j in dropped} if names else set()

    def remap(member):
        if isinstance(member, str):
            return None if member in dropped_names else member
        if isinstance(member, Integral) and not isinstance(member, bool):
            j = int(member)
            return None if j in dropped else j - sum(d < j for d in dropped)
        return member

    params = estimator.get_params(deep=False)
    update = {}
    groups = params.get("feature_groups")
    if isinstance(groups, (list, tuple)):
        kept = [[m for m in map(remap, g) if m is not None] for g in groups]
        update["feature_groups"] = [g for g in kept if g] or None
    categorical = params.get("categorical_features")
    if categorical is not None and not isinstance(categorical, str):
        values = list(categorical)
        if values and all(isinstance(v, (bool, np.bool_)) for v in values):
            update["categorical_features"] = [
                v for j, v in enumerate(values) if j not in dropped
            ]
        else:
            update["categorical_features"] = [
                m for m in map(remap, values) if m is not None
            ]
    return estimator.set_params(**update) if update else estimator


def _ablated_copy(X, unit, method, rng):
    """``X`` with the unit's columns masked (0 or missing) or permuted."""
    perm = rng.permutation(X.shape[0]) if method == "permutation" else None
    if hasattr(X, "iloc"):
        out = X.copy()
        for j in unit:
            column = X.iloc[:, j]
            if perm is not None:
                new = column.iloc[perm]
                new.index = column.index
            elif is_categorical_dtype(column.dtype):
                new = pd.Series(np.nan, index=column.index, dtype=column.dtype)
            else:
                new = pd.Series(0, index=column.index).astype(column.dtype)
            out.isetitem(int(j), new)
        return out
    out = X.copy()
    for j in unit:
        if perm is not None:
            out[:, j] = X[perm, j]
        elif out.dtype == object and not all(isinstance(v, Number) for v in out[:, j]):
            out[:, j] = None
        else:
            out[:, j] = 0
    return out


def _scores_without_refit(
    estimator, fitted, X, y, train, test, units, scorer, method, seed
):
    """Baseline and ablated scores of one model fitted on all the columns."""
    model = _fit_on(estimator, fitted, X, y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    rng = np.random.RandomState(seed)
    base = scorer(model, X_test, y_test)
    scores = [
        scorer(model, _ablated_copy(X_test, unit, method, rng), y_test)
        for unit in units
    ]
    return base, np.asarray(scores, dtype=np.float64)
