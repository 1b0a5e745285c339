"""The predictive distribution of the dropout network regressor: noise
variance, total and model std, intervals and the heteroscedastic head."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from scipy.stats import norm, spearmanr
from sklearn.base import clone
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPClassifier, DropoutMLPRegressor, DropoutMLPRegressorCV
from skdrop._engine._objective import head_loss_and_grad
from skdrop.metrics import interval_coverage
from skdrop.neural_network._noise import noise_variance_mle

FAST = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)
NOISE_SD = 0.5


def _signal(X):
    return 2 * np.sin(X[:, 0]) + X[:, 1] - 0.5 * X[:, 2] ** 2


@pytest.fixture(scope="module")
def homoscedastic():
    """A smooth function plus N(0, 0.5^2) noise: training and fresh rows."""
    rng = np.random.default_rng(0)
    X, X_new = rng.uniform(-2, 2, (4000, 3)), rng.uniform(-2, 2, (4000, 3))
    y = _signal(X) + rng.normal(0, NOISE_SD, 4000)
    y_new = _signal(X_new) + rng.normal(0, NOISE_SD, 4000)
    return X, y, X_new, y_new


@pytest.fixture(scope="module")
def fitted(homoscedastic):
    X, y, _, _ = homoscedastic
    return DropoutMLPRegressor(
        hidden_layer_sizes=(64,), hidden_dropout=0.05, learning_rate_init=0.01,
        max_iter=80, random_state=0,
    ).fit(X, y)  # fmt: skip


# ------------------------------------------------------------ the MC variance
def test_linear_network_mc_variance_is_the_closed_form():
    """Identity activation, input dropout only, inverted masks: each pass is
    ``sum_j x_j m_j / q w_j + b`` with ``w`` the product of the layers, so the
    variance over masks is ``lam * sum_j x_j^2 w_j^2`` with ``lam = p / q``."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(0, 0.1, 300)
    p = 0.3
    model = DropoutMLPRegressor(
        hidden_layer_sizes=(5,), activation="identity", input_dropout=p,
        hidden_dropout=0.0, max_iter=20, **{k: v for k, v in FAST.items()
                                            if k != "hidden_layer_sizes"},
    ).fit(X, y)  # fmt: skip
    w = (model.coefs_[0] @ model.coefs_[1])[:, 0]
    rows = X[:6]
    expected = p / (1 - p) * (rows**2 * w**2).sum(axis=1)
    T = 20_000
    draws = model.mc_predict(rows, n_samples=T, random_state=3)
    centered = (draws - draws.mean(axis=0)) ** 2
    # Standard error of a sample variance: sd of the squared deviations / sqrt T.
    se = centered.std(axis=0) / np.sqrt(T)
    assert np.all(np.abs(centered.mean(axis=0) - expected) < 4 * se)
    # The MC mean of a linear network is the deterministic prediction.
    assert np.allclose(draws.mean(axis=0), model.predict(rows), atol=6 * np.sqrt(
        expected / T
    ).max())  # fmt: skip
    # predict's model std is the same Monte Carlo spread.
    _, model_std = model.predict(
        rows, return_std=True, include_noise=False, n_samples=T
    )
    assert np.all(np.abs(model_std**2 - expected) < 4 * se)


# -------------------------------------------------------------- the noise
def test_noise_variance_mle_closed_forms():
    rng = np.random.default_rng(0)
    r = rng.normal(size=500)
    w = rng.uniform(0.5, 2, 500)
    # No model variance: the weighted mean of the squared residuals.
    assert noise_variance_mle(r, np.zeros(500), w) == pytest.approx(
        np.average(r**2, weights=w), rel=1e-12
    )
    # Equal model variance m: the likelihood depends on m + s only.
    assert noise_variance_mle(r, np.full(500, 0.3)) == pytest.approx(
        np.mean(r**2) - 0.3, rel=1e-6
    )
    # Unequal: the minimizer of the likelihood, checked on a fine grid.
    m = rng.uniform(0, 1, 500)
    r = rng.normal(size=500) * np.sqrt(m + 0.7)
    grid = np.exp(np.linspace(np.log(1e-3), np.log(10), 200_001))
    nll = [np.mean(np.log(m + s) + r**2 / (m + s)) for s in grid[::1000]]
    coarse = grid[::1000][int(np.argmin(nll))]
    fine = grid[(grid > coarse / 1.1) & (grid < coarse * 1.1)]
    values = [np.mean(np.log(m + s) + r**2 / (m + s)) for s in fine]
    assert noise_variance_mle(r, m) == pytest.approx(fine[np.argmin(values)], rel=1e-4)
    # More model variance than residual: the floor, never 0 or negative.
    assert noise_variance_mle(np.full(5, 0.01), np.ones(5)) == pytest.approx(1e-6)


@pytest.mark.parametrize("early_stopping", [False, True], ids=["training", "held"])
def test_noise_estimate_and_interval_coverage(homoscedastic, early_stopping):
    """The estimate is within 10% of the true noise variance, and 90%
    intervals cover 87-93% of 4000 fresh rows (3.2 binomial standard errors
    of 0.47% on either side of 0.9)."""
    X, y, X_new, y_new = homoscedastic
    model = DropoutMLPRegressor(
        hidden_layer_sizes=(64,), hidden_dropout=0.05, learning_rate_init=0.01,
        max_iter=80, random_state=0, early_stopping=early_stopping,
    ).fit(X, y)  # fmt: skip
    assert model.noise_variance_.shape == (1,)
    assert model.noise_variance_[0] == pytest.approx(NOISE_SD**2, rel=0.1)
    intervals = model.predict_interval(X_new, coverage=0.9)
    assert 0.87 <= interval_coverage(y_new, *intervals.T) <= 0.93


def test_intervals_are_the_gaussian_of_predict(fitted, homoscedastic):
    X_new = homoscedastic[2][:50]
    mean, std = fitted.predict(X_new, return_std=True)
    for coverage in (0.5, 0.9, 0.99):
        intervals = fitted.predict_interval(X_new, coverage=coverage)
        z = norm.ppf((1 + coverage) / 2)
        np.testing.assert_allclose(intervals[:, 0], mean - z * std, rtol=1e-12)
        np.testing.assert_allclose(intervals[:, 1], mean + z * std, rtol=1e-12)
    # Total variance = model variance + noise variance.
    _, model_std = fitted.predict(X_new, return_std=True, include_noise=False)
    np.testing.assert_allclose(std**2, model_std**2 + fitted.noise_variance_[0])
    # Wider with more coverage, and with the noise than without.
    narrow = fitted.predict_interval(X_new, coverage=0.5)
    wide = fitted.predict_interval(X_new, coverage=0.9)
    assert np.all(np.diff(wide, axis=1) > np.diff(narrow, axis=1))
    model_only = fitted.predict_interval(X_new, include_noise=False)
    assert np.all(np.diff(model_only, axis=1) < np.diff(wide, axis=1))


def test_noise_in_target_units_and_multi_output(homoscedastic):
    X, y, X_new, _ = homoscedastic
    base = DropoutMLPRegressor(hidden_dropout=0.05, max_iter=30, **FAST).fit(X, y)
    scaled = DropoutMLPRegressor(hidden_dropout=0.05, max_iter=30, **FAST).fit(
        X, 1000 * y + 7
    )
    # Target scaling trains the same network: the noise scales with 1000^2.
    np.testing.assert_allclose(
        scaled.noise_variance_, 1e6 * base.noise_variance_, rtol=1e-3
    )
    Y = np.column_stack([y, 10 * y])
    multi = DropoutMLPRegressor(hidden_dropout=0.05, max_iter=30, **FAST).fit(X, Y)
    assert multi.noise_variance_.shape == (2,)
    assert multi.noise_variance_[1] == pytest.approx(
        100 * multi.noise_variance_[0], rel=0.2
    )
    assert multi.predict_interval(X_new[:7]).shape == (7, 2, 2)
    mean, std = multi.predict(X_new[:7], return_std=True)
    assert mean.shape == std.shape == (7, 2)


def test_given_and_set_noise_variance(homoscedastic):
    X, y, X_new, _ = homoscedastic
    model = DropoutMLPRegressor(noise_variance=2.0, max_iter=5, **FAST).fit(X, y)
    np.testing.assert_array_equal(model.noise_variance_, [2.0])
    _, total = model.predict(X_new[:5], return_std=True)
    _, spread = model.predict(X_new[:5], return_std=True, include_noise=False)
    np.testing.assert_allclose(total**2, spread**2 + 2.0)
    # Set after the fit (from a calibration set, say).
    model.noise_variance_ = 0.5
    _, total = model.predict(X_new[:5], return_std=True)
    np.testing.assert_allclose(total**2, spread**2 + 0.5)
    Y = np.column_stack([y, y])
    multi = DropoutMLPRegressor(noise_variance=[1.0, 4.0], max_iter=5, **FAST)
    np.testing.assert_array_equal(multi.fit(X, Y).noise_variance_, [1.0, 4.0])


def test_partial_fit_and_warm_start_estimate_the_noise(homoscedastic):
    X, y, _, _ = homoscedastic
    model = DropoutMLPRegressor(hidden_dropout=0.05, **FAST)
    for start in range(0, 4000, 1000):
        model.partial_fit(X[start : start + 1000], y[start : start + 1000])
    assert np.isfinite(model.noise_variance_).all() and model.noise_variance_[0] > 0
    changed = clone(model).set_params(warm_start=True, max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match="loss='gaussian_nll' differs"):
        changed.set_params(loss="gaussian_nll").fit(X, y)


def test_pipeline_passes_return_std(homoscedastic):
    X, y, X_new, _ = homoscedastic
    pipe = make_pipeline(
        StandardScaler(), DropoutMLPRegressor(hidden_dropout=0.05, max_iter=5, **FAST)
    ).fit(X, y)
    mean, std = pipe.predict(X_new[:4], return_std=True)
    direct = pipe[-1].predict(pipe[0].transform(X_new[:4]), return_std=True)
    np.testing.assert_array_equal(std, direct[1])
    intervals = pipe[-1].predict_interval(pipe[0].transform(X_new[:4]))
    assert np.all(intervals[:, 0] < mean) and np.all(mean < intervals[:, 1])


# ---------------------------------------------------- heteroscedastic head
def test_gaussian_head_gradient_is_exact():
    torch.manual_seed(0)
    z = torch.randn(3, 9, 4, dtype=torch.float64, requires_grad=True)
    target = torch.randn(3, 9, 2, dtype=torch.float64)
    weight = torch.rand(3, 9, dtype=torch.float64)
    loss, grad = head_loss_and_grad(z, target, weight, "gaussian")
    loss.sum().backward()
    torch.testing.assert_close(z.grad, grad, rtol=1e-12, atol=1e-14)
    # The loss is the Gaussian negative log-likelihood, averaged over targets.
    v = torch.nn.functional.softplus(z[..., 2:]) + 1e-6
    nll = -torch.distributions.Normal(z[..., :2], v.sqrt()).log_prob(target)
    torch.testing.assert_close(loss, (nll.mean(-1) * weight).sum(-1))


def test_heteroscedastic_head_tracks_the_noise():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 3, (4000, 1))
    true_sd = 0.1 + 0.5 * X[:, 0]
    y = np.sin(2 * X[:, 0]) + rng.normal(size=4000) * true_sd
    model = DropoutMLPRegressor(
        loss="gaussian_nll", hidden_dropout=0.05, max_iter=60, **FAST
    ).fit(X, y)
    assert model.noise_variance_ is None
    assert model.coefs_[-1].shape == (32, 2) and model.n_outputs_ == 1
    X_new = rng.uniform(0, 3, (2000, 1))
    sd_new = 0.1 + 0.5 * X_new[:, 0]
    y_new = np.sin(2 * X_new[:, 0]) + rng.normal(size=2000) * sd_new
    _, std = model.predict(X_new, return_std=True)
    assert spearmanr(std, sd_new).statistic >= 0.8
    assert 0.87 <= interval_coverage(y_new, *model.predict_interval(X_new).T) <= 0.93
    # predict is the first output of coefs_, the mean in the target's units.
    hidden = np.maximum(X_new @ model.coefs_[0] + model.intercepts_[0], 0)
    out = hidden @ model.coefs_[1] + model.intercepts_[1]
    np.testing.assert_allclose(model.predict(X_new), out[:, 0], rtol=1e-4, atol=1e-4)
    # Target units: the predicted std follows a rescaled target (over two
    # epochs; float32 rounding makes longer training paths part).
    short = clone(model).set_params(max_iter=2)
    small, big = clone(short).fit(X, y), clone(short).fit(X, 100 * y)
    np.testing.assert_allclose(
        big.predict(X_new[:50], return_std=True)[1],
        100 * small.predict(X_new[:50], return_std=True)[1],
        rtol=1e-3,
    )


# ------------------------------------------------------------------- CV
@pytest.mark.parametrize("refit", ["ensemble", True])
def test_cv_noise_is_estimated_on_held_out_folds(homoscedastic, refit):
    X, y, X_new, y_new = homoscedastic
    search = DropoutMLPRegressorCV(
        hidden_layer_sizes=(64,), input_dropouts=[0.0], hidden_dropouts=[0.05],
        cv=3, learning_rate_init=0.01, max_iter=60, random_state=0, refit=refit,
    ).fit(X, y)  # fmt: skip
    assert search.noise_variance_[0] == pytest.approx(NOISE_SD**2, rel=0.1)
    assert 0.87 <= interval_coverage(y_new, *search.predict_interval(X_new).T) <= 0.93
    _, std = search.predict(X_new[:9], return_std=True)
    _, spread = search.predict(X_new[:9], return_std=True, include_noise=False)
    np.testing.assert_allclose(std**2, spread**2 + search.noise_variance_[0])
    if refit is True:
        np.testing.assert_array_equal(
            search.best_estimator_.noise_variance_, search.noise_variance_
        )


# ------------------------------------------------------------- bad input
def test_bad_input_is_a_clear_error(fitted, homoscedastic):
    X, y, X_new, _ = homoscedastic
    for coverage in (0, 1, 1.5, -0.1, True, "0.9", np.nan):
        with pytest.raises(ValueError, match="coverage must be a float in"):
            fitted.predict_interval(X_new[:3], coverage=coverage)
    for bad in (0.0, -1.0, [1.0, -2.0], np.inf):
        with pytest.raises(ValueError, match="noise_variance"):
            DropoutMLPRegressor(noise_variance=bad, max_iter=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="2 values but the target has 1"):
        DropoutMLPRegressor(noise_variance=[1.0, 2.0], max_iter=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="noise_variance applies to"):
        DropoutMLPRegressor(
            loss="gaussian_nll", noise_variance=1.0, max_iter=2, **FAST
        ).fit(X, y)
    # Like scikit-learn's MLPClassifier, the classifier has no loss parameter.
    with pytest.raises(TypeError, match="loss"):
        DropoutMLPClassifier(loss="gaussian_nll")
    with pytest.raises(ValueError, match="Invalid parameter 'loss'"):
        DropoutMLPClassifier().set_params(loss="gaussian_nll")
    # Fitted without what it needs: no dropout, or no noise variance.
    plain = DropoutMLPRegressor(hidden_dropout=0.0, max_iter=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="every dropout rate 0"):
        plain.predict_interval(X_new[:3], include_noise=False)
    old = pickle.loads(pickle.dumps(fitted))
    del old.noise_variance_  # as saved before noise variances existed
    with pytest.raises(ValueError, match="has no noise_variance_"):
        old.predict_interval(X_new[:3])
    assert old.predict(X_new[:3], return_std=True, include_noise=False)[1].shape == (3,)
    old.noise_variance_ = -1.0
    with pytest.raises(ValueError, match="noise_variance_ must be > 0"):
        old.predict(X_new[:3], return_std=True)


def test_interval_scorer_in_cross_validation(homoscedastic):
    """``predict_interval`` feeds the interval metrics through a scorer."""
    X, y, _, _ = homoscedastic

    def scorer(estimator, X, y):
        return interval_coverage(y, *estimator.predict_interval(X).T)

    model = DropoutMLPRegressor(hidden_dropout=0.05, max_iter=20, **FAST)
    scores = cross_val_score(model, X[:1500], y[:1500], cv=3, scoring=scorer)
    fold = clone(model).fit(X[500:1500], y[500:1500])
    direct = interval_coverage(y[:500], *fold.predict_interval(X[:500]).T)
    assert scores[0] == pytest.approx(direct)
    assert np.all((scores > 0.8) & (scores <= 1.0))


def test_weights_of_zero_leave_rows_out_of_the_noise(homoscedastic):
    X, y, _, _ = homoscedastic
    with pytest.raises(ValueError, match="positive total sample_weight"):
        noise_variance_mle(np.ones(5), np.full(5, 0.1), np.zeros(5))
    # Rows of weight 0 with huge residuals change nothing.
    w = np.ones(1500)
    w[:500] = 0
    y_bad = y[:1500].copy()
    y_bad[:500] += 100
    params = dict(hidden_dropout=0.05, max_iter=10, **FAST)
    weighted = DropoutMLPRegressor(**params).fit(X[:1500], y_bad, sample_weight=w)
    assert weighted.noise_variance_[0] < 1.0
    # A CV fold whose held-out rows all weigh 0 does not drag the estimate.
    folds = [
        (np.arange(500, 1500), np.arange(500)),
        (np.arange(1000), np.arange(1000, 1500)),
    ]
    search = DropoutMLPRegressorCV(
        input_dropouts=[0.0], hidden_dropouts=[0.05], cv=folds, max_iter=10, **FAST
    ).fit(X[:1500], y_bad, sample_weight=w)
    held = search.estimators_[1].noise_variance_
    np.testing.assert_allclose(search.noise_variance_, held)
    np.testing.assert_allclose(search.estimators_[0].noise_variance_, held)


def test_prediction_follows_the_fitted_head_not_the_parameter(fitted, homoscedastic):
    X_new = homoscedastic[2][:5]
    model = clone(fitted).set_params(max_iter=3).fit(*homoscedastic[:2])
    expected = model.predict(X_new, return_std=True)
    model.set_params(loss="gaussian_nll")
    np.testing.assert_array_equal(model.predict(X_new, return_std=True)[1], expected[1])


def test_partial_fit_noise_is_a_running_estimate(homoscedastic):
    X, y, X_new, y_new = homoscedastic
    model = DropoutMLPRegressor(hidden_dropout=0.05, **FAST)
    for _ in range(15):
        for start in range(0, 4000, 500):
            model.partial_fit(X[start : start + 500], y[start : start + 500])
    # What it estimates: the mean squared error of the evaluation-mode
    # prediction, here on fresh rows (the running mean over the last 10,000
    # rows also remembers earlier networks, a little worse than the last).
    fresh = np.mean((y_new - model.predict(X_new)) ** 2)
    assert model.noise_variance_[0] == pytest.approx(fresh, rel=0.15)


def test_cv_intervals_on_a_real_table(diabetes):
    """Diabetes progression: the out-of-fold noise estimate matches the test
    residual variance, and 90% intervals cover the held-out rows.  With 133
    test rows, a coverage's standard error is 2.6% and a variance's about
    12%: the bounds are 4 and 3 of them."""
    X, y = diabetes
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    search = DropoutMLPRegressorCV(
        hidden_layer_sizes=(64,), input_dropouts=[0.0], hidden_dropouts=[0.2],
        cv=5, early_stopping=True, validation_fraction=0.2, n_iter_no_change=20,
        learning_rate_init=0.003, max_iter=200, random_state=0,
    ).fit(scaler.transform(X_train), y_train)  # fmt: skip
    X_test = scaler.transform(X_test)
    residual = np.mean((y_test - search.predict(X_test)) ** 2)
    assert search.noise_variance_[0] == pytest.approx(residual, rel=0.36)
    coverage = interval_coverage(y_test, *search.predict_interval(X_test).T)
    assert 0.8 <= coverage <= 1.0
