"""The multilayer perceptron regressor with dropout."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._mlp_base import (
    _FLOAT32_MAX,
    PRIOR_LENGTH_SCALE,
    _BaseDropoutMLP,
    _stochastic_solver,
)
from ._validation import atomic_fit, check_magnitude, numeric_target

# Monte Carlo passes behind ``DropoutMLPRegressor.predict(X, return_std=True)``.
_RETURN_STD_SAMPLES = 50


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
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, input_dropout, hidden_dropout, \
dropout_type, dropout_scaling, feature_groups, categorical_features, max_categories, \
batch_norm, max_norm, prior_length_scale, device
        As in :class:`DropoutMLPClassifier`; early stopping monitors the
        validation R^2 and the split is not stratified.
    loss : {"squared_error"}, default="squared_error"
        The loss, half the squared error, as in scikit-learn (keyword only
        here).  scikit-learn's ``loss="poisson"`` is not offered.
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
    target_mean_, target_scale_ : ndarray of shape (n_outputs,)
        The standardization of the target the network trains on,
        ``(y - target_mean_) / target_scale_``, fitted on the first fit;
        zeros and ones with ``target_scaling=None``.
    loss_curve_, loss_, best_loss_, validation_loss_curve_
        As in :class:`DropoutMLPClassifier`, for half the squared error;
        with ``target_scaling="standard"``, of the standardized target (the
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
        target's units, as with scikit-learn's MLPRegressor.
    out_activation_ : str
        "identity".
    module_ : DropoutNetwork
        The trained torch module, which predicts the standardized target:
        ``module_(x) * target_scale_ + target_mean_`` is the prediction.

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
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
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
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            input_dropout=input_dropout,
            hidden_dropout=hidden_dropout,
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

    @available_if(_stochastic_solver)
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
        check_magnitude(y, "y", _FLOAT32_MAX, "the network computes in float32")
        y = np.asarray(y, dtype=np.float64)
        if first:
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output:
            raise ValueError(
                "y must have the same number of targets as in the first fit"
            )
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _scale_target(self, Y, sample_weight, first):
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

    def _in_target_units(self, raw):
        """The network's outputs (last axis) mapped back to the target's
        units; the identity with ``target_scaling=None``."""
        return raw * self.target_scale_ + self.target_mean_

    def _export_parameters(self):
        super()._export_parameters()
        # scikit-learn's coefs_ and intercepts_ predict in the target's units.
        self.coefs_[-1] = self.coefs_[-1] * self.target_scale_
        self.intercepts_[-1] = (
            self.intercepts_[-1] * self.target_scale_ + self.target_mean_
        )

    def _head(self, Y):
        del Y
        self._head_name = "identity"
        return "identity"

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
        pred = self._in_target_units(self._raw(X))
        return pred[:, 0] if self._single_output else pred

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
        draws = self._in_target_units(self._mc_raw(X, n_samples, random_state))
        return draws[:, :, 0] if self._single_output else draws

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
