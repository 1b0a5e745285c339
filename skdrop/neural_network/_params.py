"""The dropout networks' parameters: their constraints, the dropout rates as
given (one per layer, or grids of them for the CV estimators) and the checks
of their combinations."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from .._engine import ACTIVATIONS, DROPOUT_SCALINGS, DROPOUT_TYPES, SOLVERS, MLPConfig
from ..utils import resolve_batch_size

# The value of input_dropout / hidden_dropout that learns the rates.
LEARNED = "learned"
# Concrete dropout's prior length-scale l: the weight term l^2 / N ||W||^2 /
# (1 - p) of the rate's regularizer (chosen on the development suite; see
# the user guide's "Learned rates").
PRIOR_LENGTH_SCALE = 1e-2
# Largest magnitude the float32 network takes: X and y are cast to float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)

PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": [
        "array-like",
        Interval(Integral, 1, None, closed="left"),
    ],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "solver": [StrOptions(set(SOLVERS))],
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
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "input_dropout": [Interval(Real, 0, 1, closed="left"), StrOptions({LEARNED})],
    "hidden_dropout": [
        Interval(Real, 0, 1, closed="left"),
        StrOptions({LEARNED}),
        "array-like",
    ],
    "prior_length_scale": [Interval(Real, 0, None, closed="neither")],
    "dropout_type": [StrOptions(set(DROPOUT_TYPES))],
    "dropout_scaling": [StrOptions(set(DROPOUT_SCALINGS))],
    "feature_groups": [list, tuple, StrOptions({"from_names"}), None],
    "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
    "max_categories": [Interval(Integral, 2, None, closed="left"), None],
    "batch_norm": ["boolean"],
    "max_norm": [Interval(Real, 0, None, closed="neither"), None],
    "device": [str],
}


def check_params(estimator):
    """What the parameter constraints cannot check: entries of the
    array-valued parameters and combinations.  Returns the hidden layer
    sizes and the rates (input first)."""
    sizes = estimator.hidden_layer_sizes
    sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
    for k, size in enumerate(sizes):
        if not isinstance(size, Integral | np.integer) or size < 1:
            raise ValueError(
                f"hidden_layer_sizes[{k}] must be a positive int, got {size!r}"
            )
    rates = [rate(estimator.input_dropout)]
    rates += hidden_rates(estimator.hidden_dropout, sizes)
    if any(math.isnan(r) for r in rates):
        check_learned(estimator)
    if estimator.dropout_scaling == "test_time" and estimator.dropout_type in (
        "gaussian",
        "alpha",
    ):
        raise ValueError(
            "dropout_scaling='test_time' applies to dropout_type 'bernoulli' or "
            f"'dropconnect'; dropout_type={estimator.dropout_type!r} has mean-one "
            "noise (gaussian) or its own affine correction (alpha) and needs "
            "no scaling: use dropout_scaling='inverted'"
        )
    if estimator.solver == "lbfgs":
        check_lbfgs(estimator, rates)
    if estimator.dropout_type == "alpha" and estimator.activation != "selu":
        warnings.warn(
            f"dropout_type='alpha' is designed for activation='selu' "
            f"(Klambauer et al. 2017); with activation={estimator.activation!r} it "
            "does not keep the activations' mean and variance.",
            UserWarning,
            stacklevel=7,
        )
    return tuple(int(s) for s in sizes), tuple(rates)


def network_config(estimator, n_samples):
    """The engine's :class:`MLPConfig` of ``estimator``'s parameters for a
    fit on ``n_samples`` rows (warning when ``batch_size`` exceeds them)."""
    est = estimator
    batch = resolve_batch_size(est.batch_size, n_samples)
    if est.batch_size != "auto" and est.batch_size > n_samples:
        if est.solver != "lbfgs":
            warnings.warn(
                f"Got batch_size={est.batch_size} larger than the {n_samples} "
                "training samples; using the whole set in each step.",
                UserWarning,
                stacklevel=7,
            )
    return MLPConfig(
        solver=est.solver,
        learning_rate_init=float(est.learning_rate_init),
        alpha=float(est.alpha),
        batch_size=int(batch),
        shuffle=bool(est.shuffle),
        beta_1=float(est.beta_1),
        beta_2=float(est.beta_2),
        epsilon=float(est.epsilon),
        momentum=float(est.momentum),
        nesterovs_momentum=bool(est.nesterovs_momentum),
        learning_rate=est.learning_rate,
        power_t=float(est.power_t),
        max_norm=None if est.max_norm is None else float(est.max_norm),
        tol=float(est.tol),
        n_iter_no_change=est.n_iter_no_change,
        max_fun=int(est.max_fun),
        prior_length_scale=float(est.prior_length_scale),
    )


def stochastic_solver(estimator):
    """``partial_fit`` exists for the stochastic solvers only, as in
    scikit-learn."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. "
            f"{estimator.solver} is not stochastic."
        )
    return True


def check_n_samples(n_samples):
    """The number of Monte Carlo passes: a positive int."""
    if (
        not isinstance(n_samples, Integral | np.integer)
        or isinstance(n_samples, bool | np.bool_)
        or n_samples < 1
    ):
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")


def hidden_rates(hidden_dropout, sizes):
    """One rate per hidden layer, or a ``ValueError`` naming the bad one."""
    single = isinstance(hidden_dropout, str) or np.ndim(hidden_dropout) == 0
    entries = (
        [hidden_dropout] * len(sizes)
        if single
        else list(np.asarray(hidden_dropout, dtype=object).ravel())
    )
    rates = []
    for entry in entries:
        if entry == LEARNED:
            rates.append(math.nan)  # the engine's marker of a learned rate
            continue
        try:
            if isinstance(entry, str | bool | np.bool_):
                raise TypeError
            rates.append(float(entry))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "hidden_dropout must be a float in [0, 1), 'learned', or a list of "
                f"them, one per hidden layer, got {hidden_dropout!r}"
            ) from exc
    if len(rates) != len(sizes):
        raise ValueError(
            f"hidden_dropout has {len(rates)} rates but hidden_layer_sizes has "
            f"{len(sizes)} layers; give one rate per hidden layer or a single float"
        )
    for k, (entry, r) in enumerate(zip(entries, rates, strict=True)):
        if entry != LEARNED and not 0.0 <= r < 1.0:
            raise ValueError(f"hidden_dropout[{k}] must be in [0, 1), got {r!r}")
    return rates


def rate(value):
    """A fixed rate as a float, or NaN for "learned" (the engine's marker)."""
    if isinstance(value, str):
        if value != LEARNED:
            raise ValueError(f"a dropout rate is a float or 'learned', got {value!r}")
        return math.nan
    result = float(value)
    if math.isnan(result):
        raise ValueError(f"a dropout rate is a float or 'learned', got {value!r}")
    return result


def check_learned(estimator):
    """Learned rates relax Bernoulli masks with inverted scaling."""
    if estimator.dropout_type != "bernoulli":
        raise ValueError(
            "learned dropout rates (Concrete dropout) relax Bernoulli masks: they "
            f"need dropout_type='bernoulli', got {estimator.dropout_type!r}"
        )
    if estimator.dropout_scaling != "inverted":
        raise ValueError(
            "learned dropout rates scale the kept units by 1 / (1 - p) in "
            "training: they need dropout_scaling='inverted', got "
            f"{estimator.dropout_scaling!r}"
        )


def check_lbfgs(estimator, rates):
    """L-BFGS needs a deterministic objective and takes whole-batch steps."""
    if any(r != 0 for r in rates):
        raise ValueError(
            "solver='lbfgs' needs a deterministic objective, so every dropout "
            f"rate must be 0; got input_dropout={estimator.input_dropout!r} and "
            f"hidden_dropout={estimator.hidden_dropout!r}. Use solver='adam' "
            "(or 'sgd') to train with dropout."
        )
    for name in ("batch_norm", "max_norm"):
        if getattr(estimator, name) not in (False, None):
            raise ValueError(
                f"solver='lbfgs' does not support {name}={getattr(estimator, name)!r}"
                ": it applies to mini-batch steps; use solver='adam' or 'sgd'"
            )


def _is_rate(value):
    """A float rate or "learned" (not a bool, not another string)."""
    if isinstance(value, str):
        return value == LEARNED
    return isinstance(value, Real | np.number) and not isinstance(value, bool)


def _is_nan(value):
    """NaN, which a user cannot mean as a rate ("learned" is written out)."""
    return not isinstance(value, str) and math.isnan(value)


def rate_grid(rates, name):
    """A non-empty 1-d list of rates in [0, 1) or "learned", or a ValueError."""
    what = f"{name} must be a non-empty list of rates in [0, 1) or 'learned'"
    if isinstance(rates, str) or np.ndim(rates) != 1 or len(rates) == 0:
        raise ValueError(f"{what}, got {rates!r}")
    grid = []
    for k, value in enumerate(rates):
        if not _is_rate(value):
            raise ValueError(f"{what}, got {rates!r}")
        if value != LEARNED and not 0.0 <= float(value) < 1.0:
            raise ValueError(f"{name}[{k}] must be in [0, 1), got {float(value)!r}")
        grid.append(value if value == LEARNED else float(value))
    return grid


def hidden_grid(entries, sizes):
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
        if _is_rate(entry) and not _is_nan(entry):
            given = entry if entry == LEARNED else float(entry)
            rates = [rate(given)] * len(sizes)
        elif isinstance(entry, list | tuple | np.ndarray) and all(
            _is_rate(r) and not _is_nan(r) for r in entry
        ):
            given = tuple(r if r == LEARNED else float(r) for r in entry)
            rates = [rate(r) for r in given]
            if len(rates) != len(sizes):
                raise ValueError(
                    f"hidden_dropouts[{k}]={entry!r} has {len(rates)} rates but "
                    f"hidden_layer_sizes has {len(sizes)} layers"
                )
        else:
            raise ValueError(
                f"hidden_dropouts[{k}] must be a rate in [0, 1), 'learned', or a "
                f"tuple of one of them per hidden layer, got {entry!r}"
            )
        for r in rates:
            if not (math.isnan(r) or 0.0 <= r < 1.0):
                raise ValueError(
                    f"hidden_dropouts[{k}] must hold rates in [0, 1), got {entry!r}"
                )
        out.append((given, rates))
    return out
