"""The multilayer perceptron regressor with dropout."""

from __future__ import annotations

from dataclasses import replace
from numbers import Real
from types import MappingProxyType
from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._engine import gaussian_variance
from ..utils import atomic_fit, check_magnitude, numeric_target, set_params_of_init
from ._base import _BaseDropoutMLP
from ._noise import (
    NOISE_PASSES,
    NOISE_ROWS,
    PredictiveDistributionMixin,
    estimate_noise,
    fitted_noise,
    given_noise,
    is_auto,
)
from ._params import (
    FLOAT32_MAX,
    PRIOR_LENGTH_SCALE,
    stochastic_solver,
)


class DropoutMLPRegressor(PredictiveDistributionMixin, RegressorMixin, _BaseDropoutMLP):
    """Multilayer perceptron regressor trained with dropout.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`
    with dropout; the squared-error loss and every shared parameter have
    scikit-learn's meaning.  ``predict(X, return_std=True)`` and
    :meth:`predict_interval` give the Monte Carlo dropout predictive
    distribution, with the noise of the target.  Read more in the
    :ref:`user guide <mlp_dropout>` and in :ref:`uncertainty`.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, input_dropout, hidden_dropout, \
dropout_type, dropout_scaling, feature_groups, categorical_features, max_categories, \
batch_norm, max_norm, prior_length_scale, device
        As in :class:`DropoutMLPClassifier`; early stopping monitors the
        validation R^2 and the split is not stratified.
    loss : {"squared_error", "gaussian_nll"}, default="squared_error"
        "squared_error" is half the squared error, as in scikit-learn
        (keyword only here; scikit-learn's ``loss="poisson"`` is not
        offered).  "gaussian_nll" gives the network a heteroscedastic head,
        as deep ensembles do (Lakshminarayanan et al. 2017): per target a
        mean and a variance ``softplus(s) + 1e-6`` (of the target the
        network trains on: standardized, with the default
        ``target_scaling``), trained with the Gaussian negative
        log-likelihood; with
        dropout, the Monte Carlo passes add the model's uncertainty to the
        predicted noise.  ``predict`` returns the means.
    noise_variance : "auto", float or array-like of shape (n_targets,), \
default="auto"
        The variance of the target's noise around the network's prediction
        (``1 / tau`` of Gal and Ghahramani 2016), in the target's units,
        which ``predict(X, return_std=True)`` and :meth:`predict_interval`
        add to the Monte Carlo variance.  "auto" estimates it after the fit
        by maximum likelihood of the Gaussian predictive distribution
        ``N(MC mean, MC variance + noise)``: on the validation part with
        ``early_stopping=True`` (held-out rows; not with
        ``solver="lbfgs"``, which has no early stopping), else on the
        training rows (at most 10,000 of them, rows of weight 0 left out),
        where it is optimistic if the network overfits.  ``partial_fit``
        keeps a running mean, over about the last 10,000 rows, of each
        call's mean squared residual of the evaluation-mode prediction (one
        pass: 50 would cost several epochs).  A positive value fixes it.
        Only with ``loss="squared_error"``.  Not in scikit-learn.
    target_scaling : {"standard"} or None, default="standard"
        "standard" trains the network on the target standardized per output
        column (weighted by ``sample_weight`` when given; a constant column
        keeps scale 1), as a
        :class:`~sklearn.compose.TransformedTargetRegressor` with a
        :class:`~sklearn.preprocessing.StandardScaler` would, and maps every
        output (``predict``, its ``return_std``, ``mc_predict``) back to the
        target's units: a target in dollars trains like one of unit
        variance.  None trains on the raw target, as scikit-learn's
        MLPRegressor does.  The mean and scale come from the first fit (see
        ``target_mean_``): ``warm_start`` fits and later ``partial_fit``
        calls keep them, so the first ``partial_fit`` call's batch defines
        them, and changing ``target_scaling`` between such calls is a
        ``ValueError``.  Not in scikit-learn's MLPRegressor.

    Attributes
    ----------
    noise_variance_ : ndarray of shape (n_outputs,) or None
        The noise variance per target, in the target's units (see
        ``noise_variance``); None with ``loss="gaussian_nll"``, whose noise
        is predicted per row.  It may be set after the fit, for example from
        a calibration set; :meth:`predict` and :meth:`predict_interval`
        check it.
    target_mean_, target_scale_ : ndarray of shape (n_outputs,)
        The standardization of the target the network trains on,
        ``(y - target_mean_) / target_scale_``, fitted on the first fit;
        zeros and ones with ``target_scaling=None``.
    loss_curve_, loss_, best_loss_, validation_loss_curve_
        As in :class:`DropoutMLPClassifier`, for half the squared error (or,
        with ``loss="gaussian_nll"``, the Gaussian negative log-likelihood
        with its ``1/2 log(2 pi)``, which can be negative); with
        ``target_scaling="standard"``, of the standardized target (the
        residuals divided by ``target_scale_``), so they do not depend on
        the target's units.
    validation_scores_, best_validation_score_, n_iter_, t_, n_layers_, \
n_outputs_, categories_, feature_groups_, n_features_in_, feature_names_in_, \
input_dropout_, hidden_dropout_, input_dropout_history_, hidden_dropout_history_
        As in :class:`DropoutMLPClassifier`; the validation score is the
        R^2, which the target scaling does not change.
    coefs_, intercepts_ : list of ndarray
        As in :class:`DropoutMLPClassifier`, with the target scaling folded
        into the last layer: the forward pass gives predictions in the
        target's units, as with scikit-learn's MLPRegressor.  With
        ``loss="gaussian_nll"`` the last layer has ``2 * n_outputs_``
        columns: the means, then the variance scores ``s`` of the
        standardized target.
    out_activation_ : str
        "identity" (of the means).
    module_ : DropoutNetwork
        The trained torch module, which predicts the standardized target:
        ``module_(x) * target_scale_ + target_mean_`` is the prediction
        (of its first ``n_outputs_`` columns, with ``loss="gaussian_nll"``).

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
    ... ).fit(X, y)  # y in its own units: the network trains on it standardized
    >>> mean, std = model[-1].predict(model[0].transform(X[:3]), return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((3,), True)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseDropoutMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "gaussian_nll"})],
        "target_scaling": [StrOptions({"standard"}), None],
        "noise_variance": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
            "array-like",
        ],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        target_scaling="standard",
        noise_variance="auto",
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
        max_fun=15000,
        input_dropout=0.0,
        hidden_dropout=0.5,
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

    @available_if(stochastic_solver)
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.  With ``target_scaling="standard"`` the first call's
            batch defines the target's mean and scale for every later call.
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
        check_magnitude(y, "y", FLOAT32_MAX, "the network computes in float32")
        y = np.asarray(y, dtype=np.float64)
        if first:
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output:
            raise ValueError(
                "y must have the same number of targets as in the first fit"
            )
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _check_params(self):
        result = super()._check_params()
        if self.loss == "gaussian_nll" and not is_auto(self.noise_variance):
            raise ValueError(
                "noise_variance applies to loss='squared_error': with "
                "loss='gaussian_nll' the network predicts the noise variance of "
                f"each row; got noise_variance={self.noise_variance!r}. Leave "
                "it at 'auto'."
            )
        return result

    def _head(self, Y):
        del Y
        self._head_name = "gaussian" if self.loss == "gaussian_nll" else "identity"
        return self._head_name

    def _spec(self, X, Y, hidden, rates):
        spec = super()._spec(X, Y, hidden, rates)
        if self.loss == "gaussian_nll":
            # A mean and a variance score per target.
            spec = replace(spec, n_outputs=2 * Y.shape[1])
        return spec

    def _after_fit(self, X, Y, sample_weight, validation, incremental=False):
        """``noise_variance_``: as given, or estimated on the validation part
        (early stopping) or else on the training rows, in target units;
        ``partial_fit`` updates a running estimate."""
        n_outputs = Y.shape[1]
        if self._head_name == "gaussian":
            self.noise_variance_ = None
            return
        if not is_auto(self.noise_variance):
            self.noise_variance_ = given_noise(
                self.noise_variance, n_outputs, "noise_variance"
            )
            return
        if validation is not None:
            X, Y, sample_weight = validation
        # A call of partial_fit is one epoch: 50 passes would cost several
        # epochs, so it uses the evaluation-mode residuals (m_i = 0).
        passes = NOISE_PASSES if self._has_dropout() and not incremental else 1
        standardized, n_rows = estimate_noise(
            self.module_, X, Y, sample_weight, passes=passes, seeds=self._seeds[3:5]
        )
        estimate = standardized * self.target_scale_**2
        previous = getattr(self, "noise_variance_", None)
        if incremental and previous is not None and n_rows:
            # A running mean over about the last NOISE_ROWS rows: early
            # batches met an earlier network.
            share = min(1.0, n_rows / min(self.t_, NOISE_ROWS))
            estimate = (1 - share) * np.asarray(previous) + share * estimate
        self.noise_variance_ = estimate

    def _has_dropout(self):
        """Whether the Monte Carlo passes differ: some rate is positive."""
        rates = np.nan_to_num(np.asarray(self.input_dropout_, dtype=float))
        hidden = max(self.hidden_dropout_, default=0.0)
        return bool(rates.max(initial=0.0) > 0 or hidden > 0)

    def _scale_target(self, Y, sample_weight, first):
        if not first and self.loss != getattr(self, "_loss_fitted", "squared_error"):
            raise ValueError(
                f"loss={self.loss!r} differs from the fitted model's "
                f"{self._loss_fitted!r}; warm_start and partial_fit continue the "
                "network trained with that loss: set warm_start=False to fit a "
                "new one"
            )
        self._loss_fitted = self.loss
        if not is_auto(self.noise_variance):
            given_noise(self.noise_variance, Y.shape[1], "noise_variance")
        if first:
            self.target_mean_, self.target_scale_ = _target_statistics(
                Y, sample_weight, self.target_scaling
            )
            self._target_scaling_fitted = self.target_scaling
        elif self.target_scaling != self._target_scaling_fitted:
            raise ValueError(
                f"target_scaling={self.target_scaling!r} differs from the fitted "
                f"model's {self._target_scaling_fitted!r}; warm_start and "
                "partial_fit continue the network trained on that target: set "
                "warm_start=False to fit a new one"
            )
        return (Y - self.target_mean_) / self.target_scale_

    def _member_targets(self, problem, row_sets):
        """Each set's target standardized with its own rows' statistics, as
        a fit on those rows does: ``[sets, rows, outputs]``."""
        Y, W = problem.Y, problem.sample_weight
        targets, states = [], []
        for rows in row_sets:
            mean, scale = _target_statistics(
                Y[rows], None if W is None else W[rows], self.target_scaling
            )
            targets.append((Y - mean) / scale)
            fitted = {
                "target_mean_": mean,
                "target_scale_": scale,
                "_target_scaling_fitted": self.target_scaling,
                "_loss_fitted": self.loss,
            }
            states.append(MappingProxyType(fitted))
        return np.stack(targets), states

    def _in_target_units(self, raw):
        """The network's mean outputs (last axis) mapped back to the target's
        units; the identity with ``target_scaling=None``.  The gaussian head's
        variance scores, which follow the means, are left out."""
        return raw[..., : self.target_scale_.shape[0]] * self.target_scale_ + (
            self.target_mean_
        )

    def _export_parameters(self):
        super()._export_parameters()
        # scikit-learn's coefs_ and intercepts_ predict in the target's units;
        # the gaussian head's variance scores stay those of the standardized
        # target.
        k = self.target_scale_.shape[0]
        coef, intercept = self.coefs_[-1], self.intercepts_[-1]
        self.coefs_[-1] = np.concatenate(
            [coef[:, :k] * self.target_scale_, coef[:, k:]], axis=1
        )
        self.intercepts_[-1] = np.concatenate(
            [intercept[:k] * self.target_scale_ + self.target_mean_, intercept[k:]]
        )
        self.n_outputs_ = k
        self.out_activation_ = "identity"

    def _mean_prediction(self, X):
        return self._from_raw(self._raw(X))

    def _from_raw(self, raw):
        """Predictions of network outputs in the target's units, without
        the target axis for a single target."""
        pred = self._in_target_units(raw)
        return pred[..., 0] if self._single_output else pred

    def _check_model_spread(self):
        if not self._has_dropout():
            raise ValueError(
                "predict_interval(include_noise=False) gives intervals of the "
                "model's Monte Carlo dropout spread, but this model was fitted "
                "with every dropout rate 0, so its passes agree and the "
                "intervals would have width 0; fit with dropout or keep "
                "include_noise=True"
            )

    def _predictive_moments(self, X, include_noise, n_samples):
        """Mean and variance of the Monte Carlo predictive distribution, in
        target units, squeezed to 1-d for a single target."""
        check_is_fitted(self)
        noise = None
        if include_noise and self._head_name != "gaussian":
            noise = fitted_noise(self, self.target_scale_.shape[0])
        raw = self._mc_raw(X, n_samples, self._seeds[4])
        means = self._in_target_units(raw)
        mean, variance = means.mean(axis=0), means.var(axis=0)
        if include_noise:
            if noise is None:
                k = self.target_scale_.shape[0]
                head = gaussian_variance(raw[..., k:]) * self.target_scale_**2
                noise = head.mean(axis=0)
            variance = variance + noise
        if self._single_output:
            return mean[:, 0], variance[:, 0]
        return mean, variance

    def __setstate__(self, state):
        state = dict(state)
        if "target_scaling" not in state:
            # Saved before target scaling existed: trained on the raw target,
            # so it loads (and refits) as target_scaling=None, predicting as
            # it did.
            state["target_scaling"] = None
            state["_target_scaling_fitted"] = None
            if "n_outputs_" in state:
                state["target_mean_"] = np.zeros(state["n_outputs_"])
                state["target_scale_"] = np.ones(state["n_outputs_"])
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _target_statistics(Y, sample_weight, scaling):
    """``(mean, scale)`` per column of ``Y`` for ``target_scaling``."""
    if scaling is None:
        return np.zeros(Y.shape[1]), np.ones(Y.shape[1])
    if sample_weight is not None:
        # Rows of weight 0 count for nothing, and equal weights give the
        # unweighted statistics bit for bit.
        keep = sample_weight > 0
        Y, sample_weight = Y[keep], sample_weight[keep]
        if np.all(sample_weight == sample_weight[0]):
            sample_weight = None
    # StandardScaler's statistics, with its scale of 1 for a constant column:
    # those of TransformedTargetRegressor(transformer=StandardScaler()).
    scaler = StandardScaler().fit(Y, sample_weight=sample_weight)
    return scaler.mean_, scaler.scale_
