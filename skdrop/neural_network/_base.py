"""What the dropout network classifier and regressor share: their fit, the
hand-off of validated arrays to the engine and the fitted attributes it
returns."""

from __future__ import annotations

import math
import warnings
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from .._engine import (
    NetworkSpec,
    build_trainer,
    load_state,
    mc_predict_raw,
    predict_raw,
    resolve_device,
    resume_trainer,
    save_state,
    train,
)
from ..exceptions import FitInterrupted
from ..utils import (
    VersionedStateMixin,
    atomic_fit,
    check_magnitude,
    encoded_groups,
    group_labels,
    seed_from_random_state,
    validate_X,
    validate_X_y,
)
from ._fitted import FittedRatesMixin
from ._params import (
    FLOAT32_MAX,
    PARAMETER_CONSTRAINTS,
    check_n_samples,
    check_params,
    network_config,
)
from ._problem import (
    MemberRun,
    TrainingProblem,
    check_validation_sizes,
    early_stopping_split,
)


class _BaseDropoutMLP(FittedRatesMixin, VersionedStateMixin, BaseEstimator):
    """Everything the classifier and the regressor share.

    The cross-validated estimators (:mod:`skdrop.neural_network._cv`) train their grid
    of networks from a template of this class, through three methods only
    (and the public parameters):

    ``_training_problem(X, y, sample_weight)``
        Check the parameters, validate and encode the data, learn the
        encoding and draw the seeds: a :class:`TrainingProblem`.
    ``_training_members(problem, row_sets)``
        How networks fitted on subsets of the problem's rows train side by
        side: the engine's configuration, their targets and one
        :class:`MemberRun` each (its early-stopping split included).
    ``_from_member(problem, run, member_fit, held_out=None)``
        Become the estimator fitted on a run, from the network the engine
        trained for it.

    The classifier adds ``_labels(proba)``, the labels of probabilities in
    ``predict_proba``'s layout (an ensemble's mean).  The estimator's own
    ``fit`` goes through the same problem and early-stopping split, so a
    member equals a single fit on its rows.  Each subclass lists its
    parameters in its own ``__init__``, as scikit-learn requires.
    """

    _parameter_constraints: ClassVar[dict] = PARAMETER_CONSTRAINTS

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float64, float32 or a DataFrame; trained in
            float32).  A sparse matrix is densified one mini-batch at a time
            (all rows at once for ``solver="lbfgs"``).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The classifier's class labels of any type, or a multilabel
            indicator matrix; the regressor's targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the loss (the classifier
            multiplies them by ``class_weight``).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        FitInterrupted
            On Ctrl-C (``KeyboardInterrupt``) after at least one epoch: the
            estimator is kept, fitted, at its last completed epoch.  See
            :ref:`interrupted_fits`.
        FloatingPointError
            When the training diverges (a non-finite loss or prediction); the
            estimator keeps its state from before this call.  With
            ``early_stopping=True`` a divergence after an epoch that scored
            a finite validation score warns instead (``ConvergenceWarning``)
            and keeps that best epoch, as scikit-learn does.
        MemoryError
            When the device runs out of memory, with the ``batch_size`` to try.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    # --------------------------------------------------------------- checks
    def _check_params(self):
        """The hidden layer sizes and the rates (input first), checked."""
        return check_params(self)

    def _validate_X(self, X, reset):
        _check_sparse_encoding(self, X, reset)
        # float64 first: lists and ints convert to it, so that values beyond
        # float32's range are caught here rather than overflowing in a cast.
        X = validate_X(
            self, X, dtype=(np.float64, np.float32), accept_sparse="csr", reset=reset
        )
        _check_magnitude(X)
        # The engine casts each chunk to the network's float32 or float64
        # (densifying a sparse one).
        return X

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        if incremental and self.early_stopping:
            # scikit-learn's rule: one epoch has no held-out split to stop on.
            raise ValueError(
                "partial_fit does not support early_stopping=True; set "
                "early_stopping=False to train incrementally"
            )
        first = not hasattr(self, "module_") or (
            not incremental and not self.warm_start
        )
        problem = self._training_problem(
            X, y, sample_weight, first=first, classes=classes, incremental=incremental
        )
        X, sample_weight = problem.X, problem.sample_weight
        early = self.early_stopping and not incremental and self.solver != "lbfgs"
        if early:
            check_validation_sizes(
                self.validation_fraction, X.shape[0], problem.labels, problem.stratify
            )
        # Scaled in float64 before the cast, and before the early-stopping
        # split: the statistics of all the rows given.
        y = self._scale_target(problem.Y, sample_weight, first)
        y = y.astype(X.dtype, copy=False)
        trainer = self._trainer_for_fit(problem, first, incremental)
        validation = None
        if early:
            X, X_val, y, y_val, sample_weight, w_val = self._split(X, y, sample_weight)
            validation = (X_val, y_val, w_val)
        epochs = 1 if incremental else self.max_iter
        result = self._train(trainer, X, y, sample_weight, epochs, validation)
        if result.interrupted and not result.losses:
            # Nothing completed: atomic_fit restores the state before this call.
            raise KeyboardInterrupt
        self._record(trainer, result, X.shape[0], incremental)
        self._after_fit(X, y, sample_weight, validation, incremental)
        if result.interrupted:
            raise FitInterrupted(
                estimator_name=type(self).__name__, n_epochs=len(result.losses)
            )
        return self

    # ------------------------------------- the interface of the CV estimators
    def _training_problem(
        self, X, y, sample_weight, *, first=True, classes=None, incremental=False
    ):
        """The data validated and encoded for this estimator's networks.

        On a first fit (``first=True``) this learns the input's encoding and
        draws the fit's seeds, as ``fit`` does; later ``warm_start`` and
        ``partial_fit`` (``incremental=True``) calls keep the fitted ones.

        Returns
        -------
        problem : TrainingProblem
        """
        before = dict(vars(self))
        X, Y, labels, sample_weight, hidden, rates = self._prepare(
            X, y, sample_weight, first=first, classes=classes, incremental=incremental
        )
        if first:
            self._start(X)
        head = self._head(Y) if first else self._head_name
        learned = {
            name: value
            for name, value in vars(self).items()
            if name not in before or before[name] is not value
        }
        return TrainingProblem(
            X=X,
            Y=Y,
            labels=labels,
            sample_weight=sample_weight,
            spec=self._spec(X, Y, hidden, rates),
            head=head,
            seeds=tuple(self._seeds),
            stratify=self._stratified(),
            state=MappingProxyType(learned),
        )

    def _training_members(self, problem, row_sets):
        """How networks fitted on each of ``row_sets`` (indices into
        ``problem``) train side by side, each as this estimator would train
        on those rows alone.

        Returns
        -------
        config : MLPConfig
            Shared by the networks.  It warns as a fit on the smallest set
            would; ``batch_size="auto"`` is set for the largest, which the
            engine takes as ``min(batch, rows)`` for each.
        targets : ndarray of shape (n_samples, n_columns) or \
(n_sets, n_samples, n_columns)
            The targets, shared or one per set, in ``problem.X``'s dtype.
        runs : list of MemberRun
            One per set.
        """
        sizes = [len(rows) for rows in row_sets]
        rows = max(sizes) if self.batch_size == "auto" else min(sizes)
        config = network_config(self, rows)
        early = self.early_stopping and self.solver != "lbfgs"
        splits = []
        for rows in row_sets:
            if not early:
                splits.append((rows, None))
                continue
            labels = problem.labels[rows]
            check_validation_sizes(
                self.validation_fraction, len(rows), labels, problem.stratify
            )
            part, held = early_stopping_split(
                rows,
                problem.Y,
                problem.sample_weight,
                fraction=self.validation_fraction,
                seed=problem.seeds[3],
                stratify=problem.stratify,
                where=" from a training fold",
            )
            splits.append((part, np.sort(held)))
        targets, states = self._member_targets(problem, row_sets)
        targets = targets.astype(problem.X.dtype, copy=False)
        runs = [
            MemberRun(part, held, targets if targets.ndim == 2 else targets[k], state)
            for k, ((part, held), state) in enumerate(zip(splits, states, strict=True))
        ]
        return config, targets, runs

    def _member_targets(self, problem, row_sets):
        """The float64 targets of networks fitted on ``row_sets``, shared
        (``[rows, columns]``) or one each (``[sets, rows, columns]``), and
        the fitted attributes each defines: the encoded target, shared,
        here."""
        return problem.Y, [MappingProxyType({}) for _ in row_sets]

    def _from_member(self, problem, run, member_fit, held_out=None):
        """Become the estimator fitted on ``run`` of ``problem`` by the
        engine's ``member_fit``: this estimator's parameters (its rates
        included) must be those the member trained with.

        Parameters
        ----------
        problem : TrainingProblem
        run : MemberRun
        member_fit : MemberFit
        held_out : ndarray of int, default=None
            Rows the network never saw, on which the attributes that need
            data (the regressor's noise variance) are estimated; None leaves
            them unset.

        Returns
        -------
        self : object
        """
        vars(self).update(problem.state)
        vars(self).update(run.state)
        self._adopt(member_fit.network, member_fit.result, len(run.train_rows))
        if held_out is not None:
            weights = problem.sample_weight
            self._after_fit(
                problem.X[held_out],
                run.target[held_out],
                None if weights is None else weights[held_out],
                None,
            )
        return self

    def _prepare(self, X, y, sample_weight, *, first, classes=None, incremental=False):
        """Validated training data: ``(X, Y, labels, sample_weight, hidden
        layer sizes, rates)`` with ``Y`` the encoded target (one column per
        output), ``labels`` the target as given (1-d where it has one
        column) and ``sample_weight`` times the class weights.  On a first
        fit this learns the input's encoding."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None"
            )
        hidden, rates = self._check_params()
        _check_sparse_encoding(self, X, first)
        X, y = validate_X_y(
            self,
            X,
            y,
            reset=first,
            dtype=(np.float64, np.float32),
            accept_sparse="csr",
            multi_output=True,
            y_numeric=not isinstance(self, ClassifierMixin),
        )
        _check_magnitude(X)
        # coefs_ and intercepts_ take the dtype of X, as scikit-learn's (a
        # table the estimator one-hot encodes is float64, as it would be
        # after scikit-learn's OneHotEncoder).
        encoded = getattr(self, "_encoder", None) is not None
        self._coef_dtype = "float64" if encoded else X.dtype.name
        # L-BFGS trains in float64, as scikit-learn's does; the others in float32.
        dtype = np.float64 if self.solver == "lbfgs" else np.float32
        X = X.astype(dtype, copy=False) if sp.issparse(X) else np.asarray(X, dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        labels = y
        if not first and not incremental:
            self._check_warm_start(y)
        # Encoded in float64: the regressor standardizes it before the cast.
        y = self._encode_y(y, first=first, classes=classes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=dtype, ensure_non_negative=True
            )
        sample_weight = self._class_weighted(labels, sample_weight, dtype, incremental)
        return X, y, labels, sample_weight, hidden, rates

    def _check_warm_start(self, y):
        """What a ``warm_start`` fit's target must share with the fitted
        model (the classifier's classes); nothing here."""
        del y

    def _class_weighted(self, labels, sample_weight, dtype, incremental):
        """The row weights times the classifier's class weights; as given
        here."""
        del labels, dtype, incremental
        return sample_weight

    def _scale_target(self, Y, sample_weight, first):
        """The encoded target the network trains on (the regressor
        standardizes it)."""
        del sample_weight, first
        return Y

    def _after_fit(self, X, Y, sample_weight, validation, incremental=False):
        """Fitted attributes that need the trained network and the data it
        saw (the regressor's noise variance); nothing here."""
        del X, Y, sample_weight, validation, incremental

    def _train(self, trainer, X, y, sample_weight, epochs, validation):
        """The engine's training; with ``verbose``, scikit-learn's line per
        epoch (or L-BFGS iteration)."""
        return train(
            trainer,
            X,
            y,
            sample_weight,
            epochs,
            validation=validation,
            progress=_print_loss if self.verbose else None,
        )

    def _trainer_for_fit(self, problem, first, incremental):
        """A new trainer, or a copy of the fitted one to continue from."""
        n_rows = problem.X.shape[0]
        config = network_config(self, n_rows)
        if incremental:
            # Learned rates' regularizer scales with the data set's size,
            # which a stream does not know: the rows seen so far.
            config.concrete_rows = (0 if first else self.t_) + n_rows
        spec = problem.spec
        if not first:
            # The streams continue after every epoch run so far.
            run = self._epochs_run
            seeds = (self._seeds[1] + run, self._seeds[2] + run)
            trainer = resume_trainer(
                getattr(self, "_trainer", None),
                self.module_,
                spec,
                self._head_name,
                config,
                seeds,
            )
            if not incremental:
                trainer.reset_optimizer()
                # Early stopping judges this fit's epochs only: a best score
                # left from an earlier fit would keep its weights unrestored.
                trainer.best_validation_score = -math.inf
                trainer.no_improvement_count = 0
            return trainer
        device = resolve_device(self.device)
        trainer = build_trainer(spec, problem.head, config, self._seeds, device)
        self._reset_curves(self.early_stopping and self.solver != "lbfgs")
        return trainer

    def _start(self, X):
        """The seeds and dropout groups of a new fit."""
        seed = seed_from_random_state(self.random_state)
        seeds = np.random.SeedSequence(seed).generate_state(5, dtype=np.uint64)
        self._seeds = [int(s) & (2**62 - 1) for s in seeds]
        self.feature_groups_ = encoded_groups(self, self.feature_groups, X)

    def _spec(self, X, Y, hidden, rates):
        group_index = None
        if any(len(g) > 1 for g in self.feature_groups_):
            group_index = group_labels(self.feature_groups_, X.shape[1])
        return NetworkSpec(
            n_inputs=X.shape[1],
            hidden_layer_sizes=hidden,
            n_outputs=Y.shape[1],
            activation=self.activation,
            rates=rates,
            dropout_type=self.dropout_type,
            dropout_scaling=self.dropout_scaling,
            batch_norm=bool(self.batch_norm),
            group_index=group_index,
        )

    def _reset_curves(self, early):
        """The fitted curves before a new network's first epoch."""
        self.loss_curve_ = []
        self.input_dropout_history_ = self.hidden_dropout_history_ = None
        self.n_iter_ = self.t_ = self._epochs_run = 0
        self.validation_scores_ = [] if early else None
        self.validation_loss_curve_ = [] if early else None
        self.best_validation_score_ = -math.inf if early else None

    def _adopt(self, network, result, n_rows):
        """The fitted curves and parameters of a network trained elsewhere
        (see :meth:`_from_member`)."""
        self._trainer = None
        early = bool(result.validation_scores)
        self._reset_curves(early)
        self._extend(network, result, n_rows)
        self.best_validation_score_ = None
        if early:
            # NaN only when every epoch's score is (R^2 of one row).
            scores = np.asarray(result.validation_scores, dtype=float)
            best = np.nanmax(scores) if np.isfinite(scores).any() else math.nan
            self.best_validation_score_ = float(best)
        self.best_loss_ = None if early else min(result.losses, default=None)
        return self

    def _record(self, trainer, result, n_rows, incremental):
        """Adopt the trained network and extend the fitted curves."""
        self._trainer = trainer
        if result.validation_scores:
            self.best_validation_score_ = trainer.best_validation_score
            self.best_loss_ = None
        else:
            self.best_loss_ = trainer.best_loss
        self._extend(trainer.network, result, n_rows)
        if result.diverged is not None:
            best = int(np.nanargmax(result.validation_scores)) + 1
            warnings.warn(
                f"{type(self).__name__}: {result.diverged} Kept the weights of "
                f"this fit's best validation epoch, {best}.",
                ConvergenceWarning,
                stacklevel=6,
            )
            return
        if incremental or result.converged or result.interrupted:
            return
        how = (
            f"lbfgs failed to converge after {len(result.losses)} iteration(s): "
            f"{result.message}. Increase max_iter (or max_fun)."
            if self.solver == "lbfgs"
            else f"maximum iterations ({self.max_iter}) reached and the "
            "optimization hasn't converged yet."
        )
        warnings.warn(f"{type(self).__name__}: {how}", ConvergenceWarning, stacklevel=6)

    def _extend(self, network, result, n_rows):
        """Take the trained network and extend the fitted curves by the
        epochs of ``result``."""
        self.module_ = network
        self.loss_curve_ = [*self.loss_curve_, *result.losses]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        # n_iter_ counts this call's epochs, as scikit-learn's; the curves
        # and t_ span every call since the network was created.
        self.n_iter_ = len(result.losses)
        self._epochs_run += len(result.losses)
        self.t_ += n_rows * len(result.losses)
        if result.validation_scores:
            self.validation_scores_ = [
                *(self.validation_scores_ or []),
                *result.validation_scores,
            ]
            self.validation_loss_curve_ = [
                *(self.validation_loss_curve_ or []),
                *result.validation_losses,
            ]
        self._export_parameters()
        dtype = getattr(self, "_coef_dtype", "float64")
        self.coefs_ = [c.astype(dtype, copy=False) for c in self.coefs_]
        self.intercepts_ = [b.astype(dtype, copy=False) for b in self.intercepts_]
        self._export_rates(result)

    def _stratified(self):
        """Whether early stopping's split is stratified by class."""
        return isinstance(self, ClassifierMixin) and not self._multilabel

    def _split(self, X, y, sample_weight):
        """Early stopping's split of a fit's arrays: ``(X, X_val, y, y_val,
        sample_weight, w_val)``."""
        part, held = early_stopping_split(
            np.arange(X.shape[0]),
            y,
            sample_weight,
            fraction=self.validation_fraction,
            seed=self._seeds[3],
            stratify=self._stratified(),
        )
        w = sample_weight
        weights = (None, None) if w is None else (w[part], w[held])
        return X[part], X[held], y[part], y[held], *weights

    def _export_parameters(self):
        """``coefs_`` and ``intercepts_`` of the evaluation-mode network."""
        coefs, intercepts = self.module_.effective_affine()
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.n_layers_ = len(coefs) + 1
        self.n_outputs_ = coefs[-1].shape[1]
        self.out_activation_ = self._head_name

    # -------------------------------------------------------------- predict
    def _raw(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return _finite(predict_raw(self.module_, X))

    def _mc_raw(self, X, n_samples, random_state):
        check_n_samples(n_samples)
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        seed = seed_from_random_state(random_state)
        return _finite(mc_predict_raw(self.module_, X, int(n_samples), seed))

    def mc_predict(self, X, n_samples=50, random_state=None):
        """Predictions under ``n_samples`` random dropout masks.

        Monte Carlo dropout (Gal and Ghahramani 2016): the average over the
        first axis approximates the predictive distribution and its spread
        measures the model's uncertainty.  Batch normalization uses its
        running statistics.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, default=50
            Number of stochastic forward passes.
        random_state : int, RandomState instance or None, default=None
            Seeds the masks.

        Returns
        -------
        draws : ndarray of shape (n_samples, n_rows, n_classes) or \
(n_samples, n_rows[, n_targets])
            The classifier's class probabilities; the regressor's predictions
            (their means, with ``loss="gaussian_nll"``).
        """
        return self._from_raw(self._mc_raw(X, n_samples, random_state))

    # ------------------------------------------------------------ pickling
    def __getstate__(self):
        state = super().__getstate__()
        module = state.pop("module_", None)
        trainer = state.pop("_trainer", None)
        if module is not None:
            state["_torch_state"] = save_state(trainer, module)
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "_torch_bytes" in state:
            # Development builds before the plain-values format: loading
            # would give an estimator that looks fitted but has no network.
            raise ValueError(
                f"This {type(self).__name__} was saved by a development build "
                "of skdrop whose file format (torch bytes) is no longer read; "
                "refit it and save it again."
            )
        saved = state.pop("_torch_state", None)
        if "n_iter_" in state:
            # Files before n_iter_ counted one call's epochs: it was the total.
            state.setdefault("_epochs_run", state["n_iter_"])
        super().__setstate__(state)
        if saved is not None:
            self.module_, self._trainer = load_state(
                saved, type(self).__name__, self._seeds[1] + self._epochs_run
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags


def _check_sparse_encoding(estimator, X, reset):
    """The estimator's own one-hot encoding reads the columns of a dense
    table or DataFrame: a clear error for a sparse X."""
    if not sp.issparse(X):
        return
    given = estimator.categorical_features
    encodes = (
        given is not None
        and not (isinstance(given, str) and given == "from_dtype")
        and len(np.atleast_1d(given)) > 0
        if reset
        else getattr(estimator, "_encoder", None) is not None
    )
    if encodes:
        raise ValueError(
            f"{type(estimator).__name__} one-hot encodes categorical_features="
            f"{estimator.categorical_features!r} itself, which needs a dense X or "
            "a DataFrame, but X is a sparse matrix; encode those columns before "
            "(and group them with feature_groups) or pass a dense X"
        )


def _check_magnitude(X):
    """Entries of X (a sparse matrix's stored ones) within float32's range."""
    values = X.data if sp.issparse(X) else X
    check_magnitude(values, "X", FLOAT32_MAX, "the network computes in float32")


def _print_loss(iteration, loss):
    """scikit-learn's verbose line of an epoch."""
    print(f"Iteration {iteration}, loss = {loss:.8f}")


def _finite(raw):
    """``raw`` when every network output is finite, else a clear error."""
    bad = ~np.isfinite(raw).all(axis=-1)
    if bad.any():
        # Monte Carlo draws stack on a leading axis: count input rows.
        n_bad = int(bad.reshape(-1, raw.shape[-2]).any(axis=0).sum())
        raise FloatingPointError(
            f"The network's output is not finite (inf or NaN) for {n_bad} "
            "input row(s): the computation overflowed. Either the "
            "inputs are far outside the range of the training data (scale the "
            "features, for example with StandardScaler, and keep new data on "
            "the training scale) or the training diverged (try a smaller "
            "learning_rate_init and, for regression, scale the target)."
        )
    return raw
