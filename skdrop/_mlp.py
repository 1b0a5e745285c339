"""Multilayer perceptrons with dropout: the scikit-learn facade."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from scipy.special import expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
)
from tqdm.auto import tqdm

from ._categorical import encoded_groups, validate_X, validate_X_y
from ._engine import (
    DIVERGENCE_ADVICE,
    MLPConfig,
    MLPTrainer,
    head_loss_and_grad,
    make_generator,
    predict_raw,
    resolve_device,
)
from ._layers import DROPOUT_SCALINGS, DROPOUT_TYPES, NoiseSite, NoiseSource
from ._network import ACTIVATIONS, DropoutNetwork
from ._persistence import VersionedStateMixin
from ._validation import (
    atomic_fit,
    check_magnitude,
    group_labels,
    numeric_target,
    seed_from_random_state,
)
from .exceptions import FitInterrupted

# Monte Carlo passes behind ``DropoutMLPRegressor.predict(X, return_std=True)``.
_RETURN_STD_SAMPLES = 50
# Largest magnitude the float32 network takes: X and y are cast to float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_rates(input_dropout, hidden_dropout, n_hidden):
    """Per-layer dropout rates, or a ``ValueError`` naming the bad one."""
    try:
        if np.ndim(hidden_dropout) == 0:
            rates = [float(hidden_dropout)] * n_hidden
        else:
            rates = [float(r) for r in np.asarray(hidden_dropout, dtype=float).ravel()]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "hidden_dropout must be a float in [0, 1) or a list of them, one per "
            f"hidden layer, got {hidden_dropout!r}"
        ) from exc
    if len(rates) != n_hidden:
        raise ValueError(
            f"hidden_dropout has {len(rates)} rates but hidden_layer_sizes has "
            f"{n_hidden} layers; give one rate per hidden layer or a single float"
        )
    for k, rate in enumerate(rates):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"hidden_dropout[{k}] must be in [0, 1), got {rate!r}")
    return [float(input_dropout), *rates]


class _BaseDropoutMLP(VersionedStateMixin, BaseEstimator):
    """Everything the classifier and the regressor share."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"adam", "adamw", "sgd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "hidden_dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "dropout_type": [StrOptions(set(DROPOUT_TYPES))],
        "dropout_scaling": [StrOptions(set(DROPOUT_SCALINGS))],
        "feature_groups": [list, tuple, StrOptions({"from_names"}), None],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "max_categories": [Interval(Integral, 2, None, closed="left"), None],
        "batch_norm": ["boolean"],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "device": [str],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
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
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        input_dropout=0.0,
        hidden_dropout=0.5,
        dropout_type="bernoulli",
        dropout_scaling="inverted",
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        batch_norm=False,
        max_norm=None,
        device="cpu",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.input_dropout = input_dropout
        self.hidden_dropout = hidden_dropout
        self.dropout_type = dropout_type
        self.dropout_scaling = dropout_scaling
        self.feature_groups = feature_groups
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.batch_norm = batch_norm
        self.max_norm = max_norm
        self.device = device

    # --------------------------------------------------------------- checks
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
        for k, size in enumerate(sizes):
            if not isinstance(size, Integral | np.integer) or size < 1:
                raise ValueError(
                    f"hidden_layer_sizes[{k}] must be a positive int, got {size!r}"
                )
        return tuple(int(s) for s in sizes)

    def _check_options(self, n_hidden):
        rates = _check_rates(self.input_dropout, self.hidden_dropout, n_hidden)
        if self.dropout_scaling == "test_time" and self.dropout_type in (
            "gaussian",
            "alpha",
        ):
            raise ValueError(
                "dropout_scaling='test_time' applies to dropout_type 'bernoulli' or "
                f"'dropconnect'; dropout_type={self.dropout_type!r} has mean-one "
                "noise (gaussian) or its own affine correction (alpha) and needs "
                "no scaling: use dropout_scaling='inverted'"
            )
        if self.dropout_type == "alpha" and self.activation != "selu":
            warnings.warn(
                f"dropout_type='alpha' is designed for activation='selu' "
                f"(Klambauer et al. 2017); with activation={self.activation!r} it "
                "does not keep the activations' mean and variance.",
                UserWarning,
                stacklevel=7,
            )
        return rates

    def _validate_X(self, X, reset):
        # float64 first: lists and ints convert to it, so that values beyond
        # float32's range are caught here rather than overflowing in a cast.
        X = validate_X(self, X, dtype=(np.float64, np.float32), reset=reset)
        check_magnitude(X, "X", _FLOAT32_MAX, "the network computes in float32")
        return np.asarray(X, dtype=np.float32)

    def _config(self, n_samples):
        batch = min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        if self.batch_size != "auto" and self.batch_size > n_samples:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the {n_samples} "
                "training samples; using the whole set in each step.",
                UserWarning,
                stacklevel=7,
            )
        return MLPConfig(
            solver=self.solver,
            learning_rate_init=float(self.learning_rate_init),
            alpha=float(self.alpha),
            batch_size=int(batch),
            shuffle=bool(self.shuffle),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
            momentum=float(self.momentum),
            nesterovs_momentum=bool(self.nesterovs_momentum),
            learning_rate=self.learning_rate,
            power_t=float(self.power_t),
            max_norm=None if self.max_norm is None else float(self.max_norm),
            tol=float(self.tol),
            n_iter_no_change=self.n_iter_no_change,
        )

    # ------------------------------------------------------------------ fit
    def _new_trainer(self, X, n_outputs, head, seeds, device):
        hidden = self._hidden_sizes()
        rates = self._check_options(len(hidden))
        groups = encoded_groups(self, self.feature_groups, X)
        group_index = n_groups = None
        if any(len(g) > 1 for g in groups):
            group_index = torch.as_tensor(group_labels(groups, X.shape[1]))
            n_groups = len(groups)
        sites = [
            NoiseSite(
                rates[0], self.dropout_type, self.dropout_scaling, group_index, n_groups
            )
        ]
        sites += [
            NoiseSite(r, self.dropout_type, self.dropout_scaling) for r in rates[1:]
        ]
        # nn.Linear initializes itself from torch's global generator: restore
        # it, since the weights are drawn again below from a private one.
        with torch.random.fork_rng(devices=[]):
            network = DropoutNetwork(
                X.shape[1], hidden, n_outputs, self.activation, sites, self.batch_norm
            )
        network.reset_parameters(make_generator(seeds[0], torch.device("cpu")))
        network.to(device)
        self.feature_groups_ = groups
        return MLPTrainer(
            network,
            head,
            self._config(X.shape[0]),
            noise_seed=seeds[1],
            shuffle_seed=seeds[2],
            device=device,
        )

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        first = not hasattr(self, "module_") or (
            not incremental and not self.warm_start
        )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None"
            )
        X, y = validate_X_y(
            self,
            X,
            y,
            reset=first,
            dtype=(np.float64, np.float32),
            multi_output=True,
            y_numeric=isinstance(self, RegressorMixin),
        )
        check_magnitude(X, "X", _FLOAT32_MAX, "the network computes in float32")
        X = np.asarray(X, dtype=np.float32)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        labels = y
        y = self._encode_y(y, first=first, classes=classes)
        if self.early_stopping and not incremental:
            # The split's own errors would speak of test_size and of the
            # binarized labels: check what it needs here, in our terms.
            n = X.shape[0]
            n_val = math.ceil(self.validation_fraction * n)
            if n_val < 1 or n - n_val < 1:
                raise ValueError(
                    "early_stopping=True needs a validation set; "
                    f"validation_fraction={self.validation_fraction} of {n} "
                    f"samples leaves {n - n_val} for training and {n_val} for "
                    "validation, and both need at least 1"
                )
            if isinstance(self, ClassifierMixin) and not self._multilabel:
                found, counts = np.unique(labels, return_counts=True)
                if counts.min() < 2:
                    raise ValueError(
                        "early_stopping=True holds out a validation set "
                        "stratified by class, which needs at least 2 samples "
                        f"of every class; class {found.tolist()[counts.argmin()]!r}"
                        " has only 1"
                    )
                if min(n_val, n - n_val) < len(found):
                    raise ValueError(
                        "early_stopping=True holds out a validation set "
                        f"stratified by class: validation_fraction="
                        f"{self.validation_fraction} of {n} samples gives "
                        f"{n_val} for validation and {n - n_val} for training, "
                        f"and each needs at least one sample of each of the "
                        f"{len(found)} classes"
                    )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float32, ensure_non_negative=True
            )
        checkpoint = None
        if first:
            seed = seed_from_random_state(self.random_state)
            seeds = np.random.SeedSequence(seed).generate_state(5, dtype=np.uint64)
            seeds = [int(s) & (2**62 - 1) for s in seeds]
            device = resolve_device(self.device)
            trainer = self._new_trainer(X, y.shape[1], self._head(y), seeds, device)
            self._seeds = seeds
            self.loss_curve_ = []
            self.n_iter_ = 0
            self.t_ = 0
            self.best_loss_ = math.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.validation_loss_curve_ = [] if self.early_stopping else None
            self.best_validation_score_ = -math.inf if self.early_stopping else None
        else:
            trainer = self._trainer_for_update(X.shape[0])
            # The trainer is shared with the fitted state that atomic_fit
            # restores on an error: undo what this call changes in it too.
            checkpoint = trainer.checkpoint()
            trainer.config = self._config(X.shape[0])
            if not incremental:
                trainer.reset_optimizer()
                # Early stopping judges this fit's epochs only: a best score
                # left from an earlier fit would keep its weights unrestored.
                trainer.best_validation_score = -math.inf
                trainer.no_improvement_count = 0
        try:
            result = self._train(trainer, X, y, sample_weight, incremental)
            if result.interrupted and not result.losses:
                # Nothing completed: back to the state before this call.
                raise KeyboardInterrupt
            # The loss is measured before each step: the last steps can still
            # blow the weights up so far that the model predicts inf or NaN.
            if not np.isfinite(predict_raw(trainer.network, X)).all():
                raise FloatingPointError(
                    "The trained network predicts non-finite values on its "
                    f"training data; the optimization diverged. {DIVERGENCE_ADVICE}"
                )
        except BaseException:
            if checkpoint is not None:
                trainer.restore(checkpoint)
            raise
        self._trainer = trainer
        self.module_ = trainer.network
        self._export_parameters()
        if result.interrupted:
            raise FitInterrupted(
                estimator_name=type(self).__name__, n_epochs=len(result.losses)
            )
        return self

    def _trainer_for_update(self, n_samples):
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            # Loaded on another device: continue from the weights with a new
            # optimizer state.
            network = self.module_
            trainer = MLPTrainer(
                network,
                self._head_name,
                self._config(n_samples),
                noise_seed=self._seeds[1] + self.n_iter_,
                shuffle_seed=self._seeds[2] + self.n_iter_,
                device=next(network.parameters()).device,
            )
        return trainer

    def _train(self, trainer, X, y, sample_weight, incremental):
        device = trainer.device

        def to_device(a):
            if a is None:
                return None
            # torch warns about read-only arrays (joblib memmaps, for one)
            # even though training only reads them.
            return torch.from_numpy(a if a.flags.writeable else a.copy()).to(device)

        validate = None
        validation_losses = []
        if self.early_stopping and not incremental:
            X, X_val, y, y_val, sample_weight, w_val = self._split(X, y, sample_weight)

            def validate():
                raw = predict_raw(trainer.network, X_val).astype(np.float64)
                if not np.isfinite(raw).all():
                    raise FloatingPointError(
                        "The network predicts non-finite values on the "
                        f"validation set at epoch {trainer.epochs_run}; "
                        f"the optimization diverged. {DIVERGENCE_ADVICE}"
                    )
                validation_losses.append(_data_loss(raw, y_val, w_val, self._head_name))
                return self._validation_score(raw, y_val, w_val)

        epochs = 1 if incremental else self.max_iter
        desc = type(self).__name__
        with tqdm(
            total=epochs, disable=not self.verbose, desc=desc, unit="epoch"
        ) as bar:

            def progress(epoch, loss):
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4g}")

            try:
                Xt = to_device(np.ascontiguousarray(X))
                Yt = to_device(np.ascontiguousarray(y, dtype=np.float32))
                Wt = to_device(sample_weight)
                result = trainer.fit(
                    Xt, Yt, Wt, epochs, validate=validate, progress=progress
                )
            except RuntimeError as exc:
                if not _is_out_of_memory(exc):
                    raise
                raise _out_of_memory_error(trainer, X) from exc
        self.loss_curve_ = [*self.loss_curve_, *result.losses]
        self.n_iter_ += len(result.losses)
        self.t_ += X.shape[0] * len(result.losses)
        if result.validation_scores:
            self.validation_scores_ = [
                *(self.validation_scores_ or []),
                *result.validation_scores,
            ]
            self.validation_loss_curve_ = [
                *(getattr(self, "validation_loss_curve_", None) or []),
                # An interrupted epoch may have validated before it was undone.
                *validation_losses[: len(result.validation_scores)],
            ]
            self.best_validation_score_ = trainer.best_validation_score
            self.best_loss_ = None
        else:
            self.best_loss_ = trainer.best_loss
        if not incremental and not result.converged and not result.interrupted:
            warnings.warn(
                f"{type(self).__name__}: maximum iterations ({self.max_iter}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=6,
            )
        return result

    def _split(self, X, y, sample_weight):
        stratify = y if self._head(y) != "identity" and not self._multilabel else None
        if stratify is not None and stratify.shape[1] == 1:
            stratify = stratify[:, 0]
        arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
        parts = train_test_split(
            *arrays,
            test_size=self.validation_fraction,
            random_state=self._seeds[3] % (2**32),
            stratify=stratify,
        )
        if X.shape[0] < 2 or parts[1].shape[0] == 0:
            raise ValueError(
                "early_stopping=True needs a validation set; "
                f"validation_fraction={self.validation_fraction} of "
                f"{X.shape[0]} samples is too small"
            )
        if sample_weight is None:
            return parts[0], parts[1], parts[2], parts[3], None, None
        for name, weights in (("training", parts[4]), ("validation", parts[5])):
            # The losses and scores are weighted means: a part that weighs
            # nothing has none.
            if not np.any(weights > 0):
                raise ValueError(
                    f"early_stopping=True: sample_weight is zero on all "
                    f"{weights.shape[0]} rows of the {name} part held out by "
                    f"validation_fraction={self.validation_fraction}; give "
                    "more rows a positive weight or set early_stopping=False"
                )
        return parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]

    def _export_parameters(self):
        """``coefs_`` and ``intercepts_`` of the evaluation-mode network."""
        coefs, intercepts = self.module_.effective_affine()
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.n_layers_ = len(coefs) + 1
        self.n_outputs_ = coefs[-1].shape[1]
        self.out_activation_ = {
            "softmax": "softmax",
            "logistic": "logistic",
            "identity": "identity",
        }[self._head_name]

    # -------------------------------------------------------------- predict
    def _raw(self, X, noise=None):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return _finite(predict_raw(self.module_, X, noise=noise).astype(np.float64))

    def _mc_raw(self, X, n_samples, random_state):
        if (
            not isinstance(n_samples, Integral | np.integer)
            or isinstance(n_samples, bool | np.bool_)
            or n_samples < 1
        ):
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        device = next(self.module_.parameters()).device
        noise = NoiseSource(seed_from_random_state(random_state), device)
        return _finite(
            np.stack(
                [
                    predict_raw(self.module_, X, noise=noise).astype(np.float64)
                    for _ in range(int(n_samples))
                ]
            )
        )

    # ------------------------------------------------------------ pickling
    def __getstate__(self):
        state = super().__getstate__()
        module = state.pop("module_", None)
        trainer = state.pop("_trainer", None)
        if module is not None:
            # Plain values only (numpy arrays, numbers, dicts): no pickled
            # torch objects, so a skops file needs no trusted code for them.
            state["_torch_state"] = {
                "device": str(next(module.parameters()).device),
                "network": module.to_plain(),
                "trainer": None if trainer is None else trainer.state_dict(),
            }
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
        super().__setstate__(state)
        if saved is None:
            return
        device = _loading_device(saved["device"], type(self).__name__)
        self.module_ = DropoutNetwork.from_plain(saved["network"], device)
        self._trainer = None
        if saved["trainer"] is not None:
            self._trainer = MLPTrainer.from_state(
                self.module_,
                saved["trainer"],
                device=device,
                noise_seed=self._seeds[1] + self.n_iter_,
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class DropoutMLPClassifier(ClassifierMixin, _BaseDropoutMLP):
    """Multilayer perceptron classifier trained with dropout.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    (same parameter names and defaults, same fitted attributes) that adds
    input and hidden dropout, dropout variants, Monte Carlo dropout
    predictions and a torch device.  Read more in the
    :ref:`user guide <mlp_dropout>`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer.
    activation : {"identity", "logistic", "tanh", "relu", "selu"}, default="relu"
        Activation of the hidden layers; "selu" goes with alpha dropout.
    solver : {"adam", "adamw", "sgd"}, default="adam"
        "adam" and "sgd" are scikit-learn's updates; "adamw" applies
        ``alpha`` as decoupled weight decay (Loshchilov and Hutter 2019)
        instead of an L2 term in the gradient.
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights, as in scikit-learn: the
        mini-batch loss gets ``alpha / (2 n_batch) * ||W||^2``.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule of ``solver="sgd"``, as in scikit-learn.
    learning_rate_init : float, default=0.001
        Initial step size.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, the masks, the shuffling and the
        early-stopping split, through private generators: fitting never
        touches numpy's or torch's global random state.
    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch
        counts as no improvement.
    verbose : bool, default=False
        Show a progress bar over epochs with the current loss.
    warm_start : bool, default=False
        Continue from the previous solution on ``fit``.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for ``solver="sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when its accuracy stops improving and restore the best epoch's
        weights.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    input_dropout : float, default=0.0
        Probability of dropping each input feature (or group), in [0, 1).
    hidden_dropout : float or array-like of float, default=0.5
        Dropout rate of each hidden layer's output: one float for all, or
        one per hidden layer.  The output layer is never dropped.
    dropout_type : {"bernoulli", "gaussian", "alpha", "dropconnect"}, \
default="bernoulli"
        "bernoulli" zeroes units; "gaussian" multiplies them by noise
        ``N(1, p / (1 - p))``; "alpha" is alpha dropout for SELU networks;
        "dropconnect" masks weights instead of units, one mask per
        mini-batch, and predicts with the mean weights.
    dropout_scaling : {"inverted", "test_time"}, default="inverted"
        "inverted" scales kept units by ``1 / (1 - p)`` in training;
        "test_time" trains with unscaled masks and multiplies by ``1 - p``
        at prediction (the original formulation).  Only for "bernoulli" and
        "dropconnect".
    feature_groups : list of lists, default=None
        Input columns that share one dropout mask per row (indices, or names
        for a DataFrame), for instance the one-hot columns of a categorical
        feature that was encoded before the estimator.
    categorical_features : "from_dtype", list of str or int, bool mask or None, \
default="from_dtype"
        Columns the estimator one-hot encodes itself, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`:
        "from_dtype" takes the pandas ``category``, ``object`` and string
        columns of a DataFrame.  Each encoded block is one input-dropout
        group.  A category unseen in ``fit`` or a missing value encodes to an
        all-zero block, which is what a dropped group looks like.  See
        :ref:`categorical_features`.
    max_categories : int, default=None
        At most this many encoded columns per categorical feature; rarer
        levels share one column, as in
        :class:`~sklearn.preprocessing.OneHotEncoder`.
    batch_norm : bool, default=False
        Linear -> BatchNorm -> activation -> dropout in each hidden layer.
    max_norm : float, default=None
        Max-norm constraint on each unit's incoming weight vector, applied
        after every step (Srivastava et al. 2014, section 5.1).
    device : str, default="cpu"
        "cpu", "cuda", "cuda:N", "mps" or "auto" (the best available).  A
        device this machine lacks is an error at ``fit``.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    loss_curve_ : list of float
        Training loss of each epoch, as scikit-learn reports it: the mean
        loss over the epoch's batches, with the dropout masks on, plus the
        ``alpha`` penalty.
    validation_scores_ : list of float or None
        Validation accuracy after each epoch (early stopping only).
    validation_loss_curve_ : list of float or None
        Loss of the evaluation-mode network (no dropout, no penalty) on the
        validation split after each epoch (early stopping only): the same
        cross-entropy as ``loss_curve_``, for plotting the generalization
        gap (:class:`~skdrop.inspection.LossCurveDisplay`).
    best_validation_score_ : float or None
        Best validation accuracy (early stopping only).
    best_loss_ : float or None
        Lowest training loss (None with early stopping).
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    coefs_, intercepts_ : list of ndarray
        Weights ``(n_in, n_out)`` and biases of each layer of the
        evaluation-mode network, with batch normalization and test-time
        scaling folded in: ``a = act(a @ coefs_[i] + intercepts_[i])``
        reproduces the predictions.  A read-only snapshot.
    n_layers_, n_outputs_, out_activation_ : int, int, str
        As in scikit-learn.
    module_ : DropoutNetwork
        The trained torch module.
    categories_ : dict
        The levels learned for each categorical column (keyed by column
        name, or index for arrays), in the order of their encoded columns;
        ``"infrequent"`` marks the pooled column of ``max_categories``.
    feature_groups_ : list of ndarray
        The dropout groups as column indices of the encoded input: one per
        original feature (its one-hot block for a categorical one), merged
        as ``feature_groups`` asks.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.

    See Also
    --------
    DropoutMLPRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : The same model without dropout.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     DropoutMLPClassifier(hidden_dropout=0.5, max_iter=300, random_state=0),
    ... ).fit(X_train, y_train)
    >>> bool(model.score(X_test, y_test) > 0.93)
    True
    """

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float64, float32 or a DataFrame; trained in float32).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the loss.

        Returns
        -------
        self : DropoutMLPClassifier
            The fitted estimator.

        Raises
        ------
        FitInterrupted
            On Ctrl-C (``KeyboardInterrupt``) after at least one epoch: the
            estimator is kept, fitted, at its last completed epoch.  See
            :ref:`interrupted_fits`.
        FloatingPointError
            When the training diverges (a non-finite loss or prediction); the
            estimator keeps its state from before this call.
        MemoryError
            When the device runs out of memory, with the ``batch_size`` to try.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            All the classes, required on the first call (as in
            scikit-learn's ``partial_fit``).

        Returns
        -------
        self : DropoutMLPClassifier
            The updated estimator.
        """
        if not hasattr(self, "module_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if hasattr(self, "classes_") and classes is not None:
            if not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} is not the same as on "
                    f"the first call to partial_fit, {self.classes_.tolist()}"
                )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _encode_y(self, y, *, first, classes):
        if first:
            # The label type first: LabelBinarizer's own errors are cryptic.
            target_type = type_of_target(y)
            if target_type not in ("binary", "multiclass", "multilabel-indicator"):
                raise ValueError(
                    f"Unknown label type: {target_type!r}; "
                    f"{type(self).__name__} needs class labels or a multilabel "
                    "indicator matrix (for continuous targets use "
                    "DropoutMLPRegressor)"
                )
            binarizer = LabelBinarizer()
            binarizer.fit(y if classes is None else classes)
            if len(binarizer.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    f"the data, but the data contains only one class: "
                    f"{binarizer.classes_.tolist()[0]!r}"
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            self._multilabel = binarizer.y_type_ == "multilabel-indicator"
        if not self._multilabel:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y has classes {unseen.tolist()} that are not in classes "
                    f"{self.classes_.tolist()}; pass every class to the first "
                    "partial_fit call"
                )
        Y = self._label_binarizer.transform(y).astype(np.float32)
        return Y

    def _head(self, Y):
        head = "softmax" if Y.shape[1] > 1 and not self._multilabel else "logistic"
        self._head_name = head
        return head

    def _validation_score(self, raw, y_val, w_val):
        pred = self._label_binarizer.inverse_transform(self._proba_from_raw(raw))
        truth = self._label_binarizer.inverse_transform(y_val)
        return float(accuracy_score(truth, pred, sample_weight=w_val))

    def _proba_from_raw(self, raw):
        if self._head_name == "softmax":
            return softmax(raw, axis=1)
        return expit(raw)

    def predict(self, X):
        """Predict class labels (deterministic: dropout is off).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels, or an indicator matrix for multilabel targets.
        """
        proba = self._proba_from_raw(self._raw(X))
        return self._label_binarizer.inverse_transform(proba)

    def predict_proba(self, X):
        """Class probabilities of the evaluation-mode network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self._proba_from_raw(self._raw(X))
        if self._head_name == "logistic" and not self._multilabel:
            return np.hstack([1.0 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        raw = self._raw(X)
        if self._head_name == "softmax":
            return log_softmax(raw, axis=1)
        log_p = -np.logaddexp(0.0, -raw)
        if self._multilabel:
            return log_p
        return np.hstack([-np.logaddexp(0.0, raw), log_p])

    def mc_predict(self, X, n_samples=50, random_state=None):
        """Class probabilities under ``n_samples`` random dropout masks.

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
        proba : ndarray of shape (n_samples, n_rows, n_classes)
        """
        raw = self._mc_raw(X, n_samples, random_state)
        proba = np.stack([self._proba_from_raw(r) for r in raw])
        if self._head_name == "logistic" and not self._multilabel:
            return np.concatenate([1.0 - proba, proba], axis=2)
        return proba

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class DropoutMLPRegressor(RegressorMixin, _BaseDropoutMLP):
    """Multilayer perceptron regressor trained with dropout.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`
    with dropout; the squared-error loss and every shared parameter have
    scikit-learn's meaning.  ``predict(X, return_std=True)`` gives Monte
    Carlo dropout uncertainty.  Read more in the
    :ref:`user guide <mlp_dropout>`.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, input_dropout, hidden_dropout, \
dropout_type, dropout_scaling, feature_groups, categorical_features, max_categories, \
batch_norm, max_norm, device
        As in :class:`DropoutMLPClassifier`; early stopping monitors the
        validation R^2 and the split is not stratified.

    Attributes
    ----------
    loss_curve_, validation_scores_, validation_loss_curve_, \
best_validation_score_, best_loss_, n_iter_, t_, coefs_, intercepts_, \
n_layers_, n_outputs_, out_activation_, module_, categories_, feature_groups_, \
n_features_in_, feature_names_in_
        As in :class:`DropoutMLPClassifier`; the output activation is
        "identity".

    See Also
    --------
    DropoutMLPClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : The same model without dropout.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     DropoutMLPRegressor(
    ...         hidden_layer_sizes=(64,), hidden_dropout=0.2,
    ...         learning_rate_init=0.01, max_iter=300, random_state=0,
    ...     ),
    ... ).fit(X, y / 100)
    >>> mean, std = model[-1].predict(model[0].transform(X[:3]), return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((3,), True)
    """

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float64, float32 or a DataFrame; trained in float32).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the loss.

        Returns
        -------
        self : DropoutMLPRegressor
            The fitted estimator.

        Raises
        ------
        FitInterrupted
            On Ctrl-C (``KeyboardInterrupt``) after at least one epoch: the
            estimator is kept, fitted, at its last completed epoch.  See
            :ref:`interrupted_fits`.
        FloatingPointError
            When the training diverges (a non-finite loss or prediction); the
            estimator keeps its state from before this call.
        MemoryError
            When the device runs out of memory, with the ``batch_size`` to try.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : DropoutMLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode_y(self, y, *, first, classes):
        del classes
        y = numeric_target(
            y, type(self).__name__, "; for class labels use DropoutMLPClassifier"
        )
        check_magnitude(y, "y", _FLOAT32_MAX, "the network computes in float32")
        y = np.asarray(y, dtype=np.float32)
        if first:
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output:
            raise ValueError(
                "y must have the same number of targets as in the first fit"
            )
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _head(self, Y):
        del Y
        self._head_name = "identity"
        return "identity"

    def _validation_score(self, raw, y_val, w_val):
        return float(r2_score(y_val, raw, sample_weight=w_val))

    def predict(self, X, return_std=False):
        """Predict with the evaluation-mode network, or with MC dropout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the standard deviation of 50 Monte Carlo dropout
            predictions (see :meth:`mc_predict`); the mean returned is then
            their average, which approximates the predictive mean (Gal and
            Ghahramani 2016).  The masks are seeded from ``random_state``, so
            repeated calls agree.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
        y_std : ndarray of the same shape
            Only with ``return_std=True``; the model (dropout) uncertainty,
            without the noise of the targets.
        """
        if return_std:
            check_is_fitted(self)
            draws = self.mc_predict(
                X, n_samples=_RETURN_STD_SAMPLES, random_state=self._seeds[4]
            )
            return draws.mean(axis=0), draws.std(axis=0)
        raw = self._raw(X)
        return raw[:, 0] if self._single_output else raw

    def mc_predict(self, X, n_samples=50, random_state=None):
        """Predictions under ``n_samples`` random dropout masks.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, default=50
            Number of stochastic forward passes.
        random_state : int, RandomState instance or None, default=None
            Seeds the masks.

        Returns
        -------
        y : ndarray of shape (n_samples, n_rows) or (n_samples, n_rows, n_targets)
        """
        raw = self._mc_raw(X, n_samples, random_state)
        return raw[:, :, 0] if self._single_output else raw

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _finite(raw):
    """``raw`` when every network output is finite, else a clear error."""
    bad = ~np.isfinite(raw).all(axis=-1)
    if bad.any():
        # Monte Carlo draws stack on a leading axis: count input rows.
        n_bad = int(bad.reshape(-1, raw.shape[-2]).any(axis=0).sum())
        raise FloatingPointError(
            f"The network's output is not finite (inf or NaN) for {n_bad} "
            "input row(s): the float32 computation overflowed. Either the "
            "inputs are far outside the range of the training data (scale the "
            "features, for example with StandardScaler, and keep new data on "
            "the training scale) or the training diverged (try a smaller "
            "learning_rate_init and, for regression, scale the target)."
        )
    return raw


def _data_loss(raw, target, weight, head):
    """Mean loss per row of raw outputs, from the training head's own loss
    (weighted by the sample weights when given)."""
    weights = None if weight is None else torch.from_numpy(np.asarray(weight, float))
    total, _ = head_loss_and_grad(
        torch.from_numpy(raw),
        torch.from_numpy(np.asarray(target, dtype=np.float64)),
        weights,
        head,
    )
    return float(total) / (raw.shape[0] if weight is None else float(np.sum(weight)))


def _loading_device(name, estimator_name):
    """The saved device when this machine has it, else the CPU (with a note)."""
    try:
        return resolve_device(name)
    except ValueError:
        warnings.warn(
            f"{estimator_name} was saved on device {name!r}, which this machine "
            "does not have; it is loaded on the CPU (set device='cpu' to keep "
            "training it there).",
            UserWarning,
            stacklevel=4,
        )
        return torch.device("cpu")


def _is_out_of_memory(exc):
    """CUDA's OutOfMemoryError, or the RuntimeError other backends raise."""
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc)


def _out_of_memory_error(trainer, X):
    if trainer.device.type == "cuda":
        torch.cuda.empty_cache()
    batch = trainer.config.batch_size
    return MemoryError(
        f"{trainer.device} ran out of memory training on {X.shape[0]} rows x "
        f"{X.shape[1]} columns with batch_size={batch}. Try a smaller batch_size "
        f"(for example {max(1, batch // 4)}) or smaller hidden_layer_sizes; the "
        "training rows are copied to the device once, so for data larger than "
        "the device memory train on chunks with partial_fit, or use device='cpu'."
    )
