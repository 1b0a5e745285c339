"""solver="lbfgs": full-batch L-BFGS as in scikit-learn's MLP."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from scipy.special import log_softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdrop import DropoutMLPClassifier, DropoutMLPRegressor

LBFGS = dict(
    solver="lbfgs", hidden_dropout=0.0, hidden_layer_sizes=(16,), random_state=0
)


@parametrize_with_checks([DropoutMLPClassifier(**LBFGS), DropoutMLPRegressor(**LBFGS)])
def test_sklearn_compatible_without_expected_failures(estimator, check):
    # Sample-weight equivalence included: a deterministic float64 objective.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def _penalized_log_loss(model, X, y):
    """The objective recomputed in numpy from ``coefs_``/``intercepts_``."""
    a = X
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1], strict=True):
        a = np.maximum(a @ W + b, 0.0)
    logits = a @ model.coefs_[-1] + model.intercepts_[-1]
    log_p = log_softmax(logits, axis=1)
    data = -log_p[np.arange(len(y)), np.searchsorted(model.classes_, y)].mean()
    l2 = sum(float((W**2).sum()) for W in model.coefs_)
    return data + 0.5 * model.alpha * l2 / len(y)


def test_minimizes_scikit_learns_objective(wine):
    X, y = wine
    model = DropoutMLPClassifier(
        **{**LBFGS, "alpha": 1e-2, "tol": 1e-10, "max_iter": 2000}
    ).fit(X, y)
    assert str(model.module_.linears[0].weight.dtype) == "torch.float64"
    objective = _penalized_log_loss(model, X, y)
    # loss_ is the objective at the returned weights (float64 throughout).
    assert model.loss_ == pytest.approx(objective, rel=1e-9)
    assert (
        model.loss_curve_[-1] == model.loss_ and len(model.loss_curve_) == model.n_iter_
    )
    # A minimum: every small step along a random direction raises it.
    rng = np.random.default_rng(0)
    for _ in range(3):
        moved = pickle.loads(pickle.dumps(model))
        for W in moved.coefs_:
            W += 1e-3 * rng.standard_normal(W.shape)
        assert _penalized_log_loss(moved, X, y) > objective


def test_reaches_scikit_learns_minimum_on_a_linear_network(diabetes_scaled):
    """With identity activations every local minimum of the penalized squared
    loss has the same value: both L-BFGS fits must reach it, from different
    initializations, in float64."""
    X, y = diabetes_scaled
    params = dict(
        hidden_layer_sizes=(3,),
        activation="identity",
        solver="lbfgs",
        alpha=10.0,
        tol=1e-12,
        max_iter=5000,
        max_fun=50_000,
        random_state=0,
    )
    theirs = MLPRegressor(**params).fit(X, y)
    # The same objective: scikit-learn's loss on the target as given.
    params["target_scaling"] = None
    ours = DropoutMLPRegressor(hidden_dropout=0.0, **params).fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    # float64 end to end: a change far below float32's resolution of X
    # (about 1e-7 here) changes the fit and the predictions.
    moved = DropoutMLPRegressor(hidden_dropout=0.0, **params).fit(X + 1e-10, y)
    assert moved.loss_ != ours.loss_
    assert np.all(ours.predict(X + 1e-10) != ours.predict(X))


def test_dropout_is_an_error_that_names_the_rates(wine):
    X, y = wine
    with pytest.raises(ValueError, match=r"input_dropout=0\.2 and hidden_dropout=0\.0"):
        DropoutMLPClassifier(**{**LBFGS, "input_dropout": 0.2}).fit(X, y)
    with pytest.raises(
        ValueError, match=r"hidden_dropout=\(0\.0, 0\.5\).*solver='adam'"
    ):
        DropoutMLPRegressor(
            **{**LBFGS, "hidden_layer_sizes": (4, 4), "hidden_dropout": (0.0, 0.5)}
        ).fit(X, y)
    for option in ({"batch_norm": True}, {"max_norm": 3.0}):
        with pytest.raises(ValueError, match="solver='lbfgs' does not support"):
            DropoutMLPClassifier(**LBFGS, **option).fit(X, y)


def test_max_iter_and_max_fun_stop_it_with_a_warning(wine):
    X, y = wine
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        model = DropoutMLPClassifier(**{**LBFGS, "max_iter": 3}).fit(X, y)
    assert model.n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS EXCEEDS LIMIT"):
        model = DropoutMLPClassifier(**{**LBFGS, "max_fun": 4}).fit(X, y)
    assert model.n_iter_ <= 4


def test_no_partial_fit_as_in_scikit_learn():
    model = DropoutMLPClassifier(**LBFGS)
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError) as info:
        model.partial_fit  # noqa: B018
    assert "lbfgs is not stochastic" in str(info.value.__cause__)
    assert hasattr(model.set_params(solver="adam"), "partial_fit")


def test_pickles_in_float64_and_warm_starts_from_adam(diabetes_scaled):
    X, y = diabetes_scaled
    model = DropoutMLPRegressor(**{**LBFGS, "max_iter": 50, "warm_start": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        restored = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(restored.predict(X), model.predict(X))
        before, n_iter = model.loss_, model.n_iter_
        # Continuing with Adam (float32) from the L-BFGS weights...
        model.set_params(solver="adam", max_iter=5, learning_rate_init=1e-4).fit(X, y)
        assert str(model.module_.linears[0].weight.dtype) == "torch.float32"
        assert model.n_iter_ == 5 and len(model.loss_curve_) == n_iter + 5
        # ...starts where L-BFGS stopped (a small step from its minimum).
        assert model.loss_curve_[n_iter] == pytest.approx(before, rel=0.05)
        model.set_params(solver="lbfgs", max_iter=50).fit(X, y)
    assert str(model.module_.linears[0].weight.dtype) == "torch.float64"
    assert model.loss_ < before * 1.05
