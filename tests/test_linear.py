"""DropoutLinearRegression and DropoutLinearRegressionCV."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.linalg import LinAlgWarning
from sklearn.base import clone
from sklearn.datasets import load_linnerud
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdrop import DropoutLinearRegression, DropoutLinearRegressionCV
from tests._reference import brute_force_loo

RATES = [0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95]


def _rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b)


# --- scikit-learn's estimator checks --------------------------------------


def _expected_failures(estimator):
    if isinstance(estimator, DropoutLinearRegression) and estimator.solver == "sgd":
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "sgd draws random masks and batches; weights and repeated rows "
                "agree in expectation, not bitwise (the closed form passes)"
            )
        }
    if isinstance(estimator, DropoutLinearRegression):
        return {
            "check_non_transformer_estimators_n_iter": (
                "n_iter_ is None for the closed form, as Ridge's for its "
                "direct solvers (scikit-learn skips this check for Ridge)"
            )
        }
    return {}


def test_n_iter_is_ridges_type(diabetes):
    """None for the closed form (no iterations), one entry per target for
    SGD, as Ridge's n_iter_."""
    X, y = diabetes
    assert DropoutLinearRegression().fit(X, y).n_iter_ is None
    sgd = DropoutLinearRegression(solver="sgd", max_iter=3, tol=0, random_state=0)
    assert sgd.fit(X, y).n_iter_.tolist() == [3]
    assert sgd.fit(X, np.c_[y, y]).n_iter_.tolist() == [3, 3]


@parametrize_with_checks(
    [
        DropoutLinearRegression(),
        DropoutLinearRegression(solver="sgd", max_iter=50, tol=0, random_state=0),
        DropoutLinearRegressionCV(),
        DropoutLinearRegressionCV(cv=3),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        check(estimator)


# --- the identities --------------------------------------------------------


@pytest.mark.parametrize("dataset", ["diabetes", "cancer_regression"])
@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.8])
def test_equals_ridge_on_scaled_and_standardized_data(request, dataset, p):
    X, y = request.getfixturevalue(dataset)
    lam = p / (1 - p)
    model = DropoutLinearRegression(input_dropout=p).fit(X, y)

    scale = np.sqrt((X**2).sum(axis=0))  # uncentered, as the masks see X
    ridge = Ridge(alpha=lam, solver="cholesky").fit(X / scale, y)
    np.testing.assert_allclose(model.coef_, ridge.coef_ / scale, rtol=1e-8)
    np.testing.assert_allclose(model.intercept_, ridge.intercept_, rtol=1e-8)
    np.testing.assert_allclose(model.penalty_, scale**2, rtol=1e-12)

    # Standardized columns have unit second moment: B = n I.
    Xs = StandardScaler().fit_transform(X)
    on_std = DropoutLinearRegression(input_dropout=p).fit(Xs, y)
    ridge_std = Ridge(alpha=len(y) * lam, solver="cholesky").fit(Xs, y)
    np.testing.assert_allclose(on_std.coef_, ridge_std.coef_, rtol=1e-8)
    np.testing.assert_allclose(on_std.intercept_, ridge_std.intercept_, rtol=1e-8)


def test_sample_weight_equals_repeated_rows(cancer_regression):
    X, y = cancer_regression
    counts = np.random.default_rng(0).integers(0, 4, len(y))
    weighted = DropoutLinearRegression(input_dropout=0.3).fit(
        X, y, sample_weight=counts
    )
    repeated = DropoutLinearRegression(input_dropout=0.3).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-8)
    np.testing.assert_allclose(weighted.penalty_, repeated.penalty_, rtol=1e-10)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_monte_carlo_loss_matches_closed_form_objective(cancer_regression, p):
    """Average the inverted-dropout loss at the fitted w over many real masks."""
    X, y = cancer_regression
    model = DropoutLinearRegression(input_dropout=p).fit(X, y)
    w, b = model.coef_, model.intercept_
    objective = np.sum((y - b - X @ w) ** 2) + p / (1 - p) * model.penalty_ @ w**2

    rng = np.random.default_rng(0)
    n_masks = 4000
    losses = np.empty(n_masks)
    for k in range(n_masks):
        mask = rng.random(X.shape) >= p
        losses[k] = np.sum((y - b - (X * mask / (1 - p)) @ w) ** 2)
    standard_error = losses.std(ddof=1) / np.sqrt(n_masks)
    # The tolerance asked for must be several standard errors wide.
    assert 4 * standard_error < 0.005 * objective
    assert abs(losses.mean() - objective) < 0.005 * objective
    assert abs(losses.mean() - objective) < 4 * standard_error


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_sgd_converges_to_closed_form(diabetes, p):
    X, y = diabetes
    exact = DropoutLinearRegression(input_dropout=p).fit(X, y)
    # The mask noise limits the precision to ~1/sqrt(rows seen): 4000 full
    # passes give about 0.4% (measured over seeds), inside the 1% asked for.
    sgd = DropoutLinearRegression(
        input_dropout=p,
        solver="sgd",
        batch_size=len(y),
        max_iter=4000,
        tol=0,
        random_state=0,
    ).fit(X, y)
    assert _rel(sgd.coef_, exact.coef_) < 0.01
    assert abs(sgd.intercept_ - exact.intercept_) < 0.01 * abs(exact.intercept_)
    assert sgd.n_iter_.tolist() == [4000] and len(sgd.loss_curve_) == 4000
    np.testing.assert_allclose(sgd.penalty_, exact.penalty_)


def test_sgd_tol_stops_early_and_warns_when_it_cannot(diabetes):
    X, y = diabetes
    model = DropoutLinearRegression(
        solver="sgd", tol=0.05, max_iter=5000, random_state=0
    ).fit(X, y)
    assert model.n_iter_[0] < 5000
    exact = DropoutLinearRegression().fit(X, y)
    assert _rel(model.coef_, exact.coef_) < 3 * 0.05
    with pytest.warns(Warning, match="max_iter=3"):
        DropoutLinearRegression(solver="sgd", max_iter=3, random_state=0).fit(X, y)


def test_raw_one_hot_groups_equal_elementwise_masks(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    grouped = DropoutLinearRegression(input_dropout=0.4, feature_groups=groups).fit(
        X, y
    )
    single = DropoutLinearRegression(input_dropout=0.4).fit(X, y)
    # One-hot columns never overlap, so X_g' X_g is already diagonal.
    np.testing.assert_allclose(grouped.coef_, single.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(grouped.intercept_, single.intercept_, rtol=1e-10)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_standardized_one_hot_groups_differ_and_sgd_matches(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    X = X.copy()
    one_hot = [c for g in groups for c in g]
    X[one_hot] = (X[one_hot] - X[one_hot].mean()) / X[one_hot].std(ddof=0)
    p = 0.5
    grouped = DropoutLinearRegression(input_dropout=p, feature_groups=groups).fit(X, y)
    single = DropoutLinearRegression(input_dropout=p).fit(X, y)
    assert grouped.penalty_.shape == (X.shape[1], X.shape[1])
    pred_group, pred_single = grouped.predict(X), single.predict(X)

    def rel_pred(a, b):
        return np.linalg.norm(a - b) / np.linalg.norm(b - b.mean())

    gap = rel_pred(pred_single, pred_group)
    assert gap > 0.02
    sgd = DropoutLinearRegression(
        input_dropout=p,
        feature_groups=groups,
        solver="sgd",
        batch_size=len(y),
        max_iter=4000,
        tol=0,
        random_state=0,
    ).fit(X, y)
    # Real group masks reach the group solution, not the elementwise one.
    assert rel_pred(sgd.predict(X), pred_group) < gap / 5


def test_groups_by_name_and_index_agree(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    cols = list(X.columns)
    by_index = [[cols.index(c) for c in g] for g in groups]
    a = DropoutLinearRegression(feature_groups=groups).fit(X, y)
    b = DropoutLinearRegression(feature_groups=by_index).fit(X.to_numpy(), y)
    np.testing.assert_allclose(a.coef_, b.coef_)
    assert list(a.feature_names_in_) == cols


def test_multi_output_equals_separate_fits():
    X, Y = load_linnerud(return_X_y=True)
    model = DropoutLinearRegression(input_dropout=0.3).fit(X, Y)
    assert model.coef_.shape == (3, 3) and model.intercept_.shape == (3,)
    assert model.predict(X).shape == Y.shape
    for k in range(3):
        single = DropoutLinearRegression(input_dropout=0.3).fit(X, Y[:, k])
        np.testing.assert_allclose(model.coef_[k], single.coef_, rtol=1e-10)
        np.testing.assert_allclose(model.intercept_[k], single.intercept_)
    cv = DropoutLinearRegressionCV(store_cv_results=True).fit(X, Y)
    assert cv.loo_values_.shape == (20, 3, len(cv.input_dropouts))
    frame = pd.DataFrame(cv.cv_results_)  # 2-d, as GridSearchCV's
    assert frame.shape[0] == len(cv.input_dropouts)
    folds = DropoutLinearRegressionCV(input_dropouts=[0.1, 0.5], cv=4).fit(X, Y)
    assert pd.DataFrame(folds.cv_results_).shape[0] == 2


def test_score_is_r2(diabetes):
    X, y = diabetes
    model = DropoutLinearRegression().fit(X, y)
    pred = model.predict(X)
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert model.score(X, y) == pytest.approx(r2)


def test_zero_dropout_is_ordinary_least_squares(diabetes):
    X, y = diabetes
    model = DropoutLinearRegression(input_dropout=0.0).fit(X, y)
    ols = Ridge(alpha=0.0, solver="svd").fit(X, y)
    np.testing.assert_allclose(model.coef_, ols.coef_, rtol=1e-8)


def test_all_zero_column_gets_zero_coefficient(diabetes):
    X, y = diabetes
    X = np.column_stack([np.zeros(len(y)), X])
    for p in [0.0, 0.5]:
        for solver in ["closed_form", "sgd"]:
            model = DropoutLinearRegression(
                input_dropout=p, solver=solver, max_iter=20, tol=0, random_state=0
            ).fit(X, y)
            assert model.coef_[0] == 0.0
            assert np.all(np.isfinite(model.predict(X)))


# --- DropoutLinearRegressionCV ---------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_cv_loo_errors_equal_brute_force(diabetes, weighted):
    X, y = diabetes
    weights = np.random.default_rng(1).uniform(0.5, 2, len(y)) if weighted else None
    model = DropoutLinearRegressionCV(input_dropouts=RATES, store_cv_results=True).fit(
        X, y, sample_weight=weights
    )
    groups = [np.array([j]) for j in range(X.shape[1])]
    for r, p in enumerate(RATES):
        expected = (y - brute_force_loo(X, y, p, groups, weights)) ** 2
        np.testing.assert_allclose(
            model.loo_values_[:, r], expected, rtol=1e-8, atol=1e-8 * expected.mean()
        )
    w = np.ones(len(y)) if weights is None else weights
    scores = model.cv_results_["mean_test_score"]
    np.testing.assert_allclose(scores, -(w @ model.loo_values_) / w.sum())
    best = int(np.argmax(scores))
    assert model.best_params_ == {"input_dropout": RATES[best]}
    refit = DropoutLinearRegression(input_dropout=RATES[best]).fit(
        X, y, sample_weight=weights
    )
    np.testing.assert_allclose(model.coef_, refit.coef_, rtol=1e-10)


def test_cv_loo_feature_with_large_mean_and_small_spread():
    # A timestamp-like column: its whitened eigenvalue is ~1e-13, far below 1.
    # A floor relative to 1 dropped it from the leave-one-out fits at
    # dropout=0, which then scored -28.5 instead of -0.0098 and lost to 0.05.
    rng = np.random.default_rng(0)
    t = 1.0 + 1e-8 * rng.normal(size=60)
    X, y = (t * 1e3)[:, None], 5.0 * (t - 1) / 1e-8 + 0.1 * rng.normal(size=60)
    model = DropoutLinearRegressionCV(input_dropouts=[0.0, 0.05], store_cv_results=True)
    model.fit(X, y)
    expected = (y - brute_force_loo(X, y, 0.0, [np.array([0])], None)) ** 2
    # Centering 1e3-sized values with a 1e-5 spread keeps ~8 digits.
    np.testing.assert_allclose(
        model.loo_values_[:, 0], expected, rtol=1e-4, atol=1e-4 * expected.mean()
    )
    assert model.best_params_["input_dropout"] == 0.0
    assert model.score(X, y) > 0.99


def test_cv_loo_with_groups_and_scorer_equals_brute_force(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    rates = [0.1, 0.5, 0.9]
    model = DropoutLinearRegressionCV(
        input_dropouts=rates,
        feature_groups=groups,
        scoring="r2",
        store_cv_results=True,
    ).fit(X, y)
    cols = list(X.columns)
    grouped = [np.array([cols.index(c) for c in g]) for g in groups]
    rest = [
        np.array([j]) for j in range(X.shape[1]) if all(j not in g for g in grouped)
    ]
    for r, p in enumerate(rates):
        expected = brute_force_loo(X.to_numpy(), y, p, grouped + rest)
        np.testing.assert_allclose(model.loo_values_[:, r], expected, rtol=1e-8)
        r2 = 1 - np.sum((y - expected) ** 2) / np.sum((y - y.mean()) ** 2)
        assert model.cv_results_["mean_test_score"][r] == pytest.approx(r2, rel=1e-10)


def test_cv_with_folds_equals_grid_search(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    folds = KFold(5, shuffle=True, random_state=0)
    model = DropoutLinearRegressionCV(
        input_dropouts=RATES[1:], feature_groups=groups, cv=folds
    ).fit(X, y)
    search = GridSearchCV(
        DropoutLinearRegression(feature_groups=groups),
        {"input_dropout": RATES[1:]},
        cv=folds,
    ).fit(X, y)
    assert model.best_params_ == search.best_params_
    assert model.best_index_ == search.best_index_
    assert model.n_splits_ == search.n_splits_ == 5
    assert model.best_score_ == pytest.approx(search.best_score_, rel=1e-12)
    for key in ("mean_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_allclose(model.cv_results_[key], search.cv_results_[key])
    assert model.cv_results_["params"] == search.cv_results_["params"]
    np.testing.assert_allclose(model.coef_, search.best_estimator_.coef_)
    assert list(model.feature_names_in_) == list(X.columns)


def test_grid_search_over_dropout_in_pipeline(cancer_regression):
    X, y = cancer_regression
    rates = [0.0, 0.05, 0.2, 0.5]
    pipe = make_pipeline(StandardScaler(), DropoutLinearRegression())
    search = GridSearchCV(pipe, {"dropoutlinearregression__input_dropout": rates})
    search.fit(X, y)
    # The CV scores written out: scale on the training part, ridge on the
    # scaled columns (the closed form's equivalent), R^2 on the test part.
    means = []
    for p in rates:
        scores = []
        for train, test in KFold(5).split(X):
            scaler = StandardScaler().fit(X[train])
            Xs_train, Xs_test = scaler.transform(X[train]), scaler.transform(X[test])
            scale = np.sqrt((Xs_train**2).sum(axis=0))
            ridge = Ridge(alpha=p / (1 - p), solver="cholesky")
            ridge.fit(Xs_train / scale, y[train])
            scores.append(ridge.score(Xs_test / scale, y[test]))
        means.append(np.mean(scores))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means, rtol=1e-9)
    best = rates[int(np.argmax(means))]
    assert np.sort(means)[-1] - np.sort(means)[-2] > 1e-6  # a clear winner
    assert search.best_params_["dropoutlinearregression__input_dropout"] == best


def test_cv_store_results_needs_loo(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="store_cv_results=True needs cv=None"):
        DropoutLinearRegressionCV(cv=3, store_cv_results=True).fit(X, y)


@pytest.mark.parametrize(
    "dropouts, match",
    [([], "non-empty"), ([0.1, 1.0], r"in \[0, 1\), got 1.0"), ([-0.1], "got -0.1")],
)
def test_cv_bad_grid(diabetes, dropouts, match):
    X, y = diabetes
    with pytest.raises(ValueError, match=match):
        DropoutLinearRegressionCV(input_dropouts=dropouts).fit(X, y)


# --- bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    "Estimator", [DropoutLinearRegression, DropoutLinearRegressionCV]
)
def test_non_finite_input_is_an_error(diabetes, Estimator):
    X, y = diabetes
    for bad in [np.nan, np.inf]:
        Xb = X.copy()
        Xb[3, 2] = bad
        with pytest.raises(ValueError, match="Input X contains"):
            Estimator().fit(Xb, y)
        yb = y.copy()
        yb[5] = bad
        with pytest.raises(ValueError, match="Input y contains"):
            Estimator().fit(X, yb)


def test_wrong_dimensions_are_errors(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="Expected 2D array"):
        DropoutLinearRegression().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DropoutLinearRegression().fit(X, y[:-1])
    model = DropoutLinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 9 features, but DropoutLinear"):
        model.predict(X[:, :9])


@pytest.mark.parametrize("dropout", [1.0, 1.2, -0.1])
def test_dropout_out_of_range(diabetes, dropout):
    X, y = diabetes
    with pytest.raises(
        ValueError, match=r"'input_dropout' parameter .* range \[0.0, 1.0\)"
    ):
        DropoutLinearRegression(input_dropout=dropout).fit(X, y)


@pytest.mark.parametrize(
    "groups, match",
    [
        ([[0, 1], [1, 2]], r"column 1 is listed in feature_groups\[0\] and "),
        ([[0], []], r"feature_groups\[1\] is empty"),
        ([[0, 10]], r"index 10, out of range .* \[0, 9\]"),
        ([["age"]], "names column 'age', but X has no column names"),
        ([[0, 0]], "twice"),
    ],
)
def test_bad_feature_groups(diabetes, groups, match):
    X, y = diabetes
    with pytest.raises(ValueError, match=match):
        DropoutLinearRegression(feature_groups=groups).fit(X, y)


def test_unknown_group_name(diabetes_one_hot):
    X, y, _ = diabetes_one_hot
    with pytest.raises(ValueError, match="unknown column 'colour'"):
        DropoutLinearRegression(feature_groups=[["sex_1", "colour"]]).fit(X, y)


def test_bad_sample_weight(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="non-zero"):
        DropoutLinearRegression().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="Negative values"):
        DropoutLinearRegression().fit(X, y, sample_weight=-np.ones(len(y)))


def test_failed_fit_leaves_fitted_model_unchanged(diabetes):
    X, y = diabetes
    model = DropoutLinearRegression().fit(X, y)
    coef = model.coef_.copy()
    before = dict(model.__dict__)
    Xb = np.column_stack([X, X[:, :2]])
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError):
        model.fit(Xb, y)
    model.set_params(feature_groups=[[0, 20]])
    with pytest.raises(ValueError):
        model.fit(Xb[1:], y[1:])
    assert model.__dict__.keys() == before.keys()
    assert model.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(model.coef_, coef)
    model.predict(X)


def test_unavailable_device_is_a_clear_error(diabetes):
    X, y = diabetes
    model = DropoutLinearRegression(solver="sgd", device="tpu")
    with pytest.raises(ValueError, match="device must be 'cpu', 'auto'"):
        model.fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            model.set_params(device="cuda").fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_sgd_on_cuda_matches_cpu(diabetes):
    X, y = diabetes
    kw = dict(solver="sgd", batch_size=len(y), max_iter=2000, tol=0, random_state=0)
    gpu = DropoutLinearRegression(device="cuda", **kw).fit(X, y)
    exact = DropoutLinearRegression().fit(X, y)
    assert _rel(gpu.coef_, exact.coef_) < 0.02


def test_sgd_is_reproducible_and_leaves_global_rng_alone(diabetes):
    X, y = diabetes
    np_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    kw = dict(solver="sgd", max_iter=30, tol=0, random_state=7)
    a = DropoutLinearRegression(**kw).fit(X, y)
    b = clone(DropoutLinearRegression(**kw)).fit(X, y)
    c = DropoutLinearRegression(**{**kw, "random_state": 8}).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_verbose_shows_progress(diabetes, capsys):
    X, y = diabetes
    DropoutLinearRegression(solver="sgd", max_iter=5, tol=0, verbose=True).fit(X, y)
    assert "epoch" in capsys.readouterr().err


def test_dataframe_with_no_names_and_pandas_target(diabetes):
    X, y = diabetes
    model = DropoutLinearRegression().fit(pd.DataFrame(X), pd.Series(y))
    assert not hasattr(model, "feature_names_in_")
    np.testing.assert_allclose(
        model.predict(X), DropoutLinearRegression().fit(X, y).predict(X)
    )


# --- exact drop-column refits and the equivalent ridge ---------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_drop_column_refits_equal_refits(diabetes_one_hot, fit_intercept):
    X, y, groups = diabetes_one_hot
    Y = np.column_stack([y, np.sqrt(y)])
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    model = DropoutLinearRegression(
        0.3, feature_groups=groups, fit_intercept=fit_intercept
    )
    # Part of a group, a whole group, one column, all but one column, none.
    units = [[0], [2, 3, 4, 5], [8], list(range(1, X.shape[1])), []]
    refits = model.drop_column_refits(X, Y, units, sample_weight=weights)
    assert not hasattr(model, "coef_")  # the estimator itself is untouched
    columns = list(X.columns)
    for unit, refit in zip(units, refits, strict=True):
        kept = [c for j, c in enumerate(columns) if j not in unit]
        kept_groups = [[c for c in g if c in kept] for g in groups]
        expected = DropoutLinearRegression(
            0.3,
            feature_groups=[g for g in kept_groups if g] or None,
            fit_intercept=fit_intercept,
        ).fit(X[kept], Y, sample_weight=weights)
        # Both solve a system of condition number well below 1e8.
        np.testing.assert_allclose(refit.coef_, expected.coef_, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(refit.intercept_, expected.intercept_, rtol=1e-9)
        np.testing.assert_allclose(refit.penalty_, expected.penalty_, rtol=1e-12)
        assert list(refit.feature_names_in_) == kept
        assert refit.n_features_in_ == len(kept) and refit.n_iter_ is None
        assert [list(g) for g in refit.feature_groups_] == [
            list(g) for g in expected.feature_groups_
        ]
        np.testing.assert_allclose(
            refit.predict(X[kept]), expected.predict(X[kept]), rtol=1e-9
        )
    # Leaving no column out solves the system as fit does.
    full = model.fit(X, Y, sample_weight=weights)
    np.testing.assert_allclose(refits[-1].coef_, full.coef_, rtol=1e-14, atol=0)
    np.testing.assert_allclose(refits[-1].intercept_, full.intercept_, rtol=1e-14)


def test_drop_column_refits_decline_without_a_shortcut(diabetes):
    X, y = diabetes
    sgd = DropoutLinearRegression(solver="sgd")
    assert sgd.drop_column_refits(X, y, [[0]]) is None
    frame = pd.DataFrame(X).assign(sex=np.where(X[:, 1] > 0, "m", "f"))
    frame.columns = [str(c) for c in frame.columns]
    assert DropoutLinearRegression().drop_column_refits(frame, y, [[0]]) is None
    collinear = np.column_stack([X, X[:, 0]])  # singular without dropout
    with pytest.warns(LinAlgWarning):
        DropoutLinearRegression(0.0).fit(collinear, y)
    assert DropoutLinearRegression(0.0).drop_column_refits(collinear, y, [[1]]) is None


@pytest.mark.parametrize(
    "groups, match",
    [
        ([[[0]]], r"column_groups\[0\] must be a list of column indices"),
        ([[0], ["a"]], r"column_groups\[1\] must be a list of column indices"),
        ([[0, 10]], r"distinct column indices in \[0, 9\], got \[0, 10\]"),
        ([[1, 1]], r"distinct column indices in \[0, 9\], got \[1, 1\]"),
        ([list(range(10))], r"column_groups\[0\] lists every column of X"),
    ],
)
def test_drop_column_refits_bad_groups(diabetes, groups, match):
    X, y = diabetes
    with pytest.raises(ValueError, match=match):
        DropoutLinearRegression().drop_column_refits(X, y, groups)


@pytest.mark.parametrize("dataset", ["diabetes", "cancer_regression"])
def test_equivalent_ridge(request, dataset):
    X, y = request.getfixturevalue(dataset)
    model = DropoutLinearRegression(0.4).fit(X, y)
    alpha, T = model.equivalent_ridge()
    assert alpha == pytest.approx(0.4 / 0.6, rel=1e-15)
    # Without groups T is diagonal: one over the root sums of squares.
    np.testing.assert_allclose(T, np.diag(1 / np.sqrt((X**2).sum(axis=0))))
    ridge = Ridge(alpha=alpha, solver="cholesky").fit(X @ T, y)
    np.testing.assert_allclose(T @ ridge.coef_, model.coef_, rtol=1e-8)


def test_equivalent_ridge_with_groups(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    model = DropoutLinearRegression(0.2, feature_groups=groups).fit(X, y)
    alpha, T = model.equivalent_ridge()
    # T' B T = I: the dropout penalty is the ridge penalty in v = T^-1 w.
    np.testing.assert_allclose(T.T @ model.penalty_ @ T, np.eye(T.shape[1]), atol=1e-10)
    ridge = Ridge(alpha=alpha, solver="cholesky").fit(X.to_numpy() @ T, y)
    np.testing.assert_allclose(T @ ridge.coef_, model.coef_, rtol=1e-7, atol=1e-9)
