"""Drop-in parity with scikit-learn's MLP: the behaviours its own test suite
(``sklearn/neural_network/tests/test_mlp.py``) checks that a user switching
from ``MLPClassifier``/``MLPRegressor`` meets, and ``class_weight``.  The
deliberate differences are in ``docs/user_guide/migrating_from_sklearn.rst``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_sample_weight

from skdrop import DropoutMLPClassifier, DropoutMLPClassifierCV, DropoutMLPRegressor
from skdrop._engine import _batches

FAST = dict(
    hidden_layer_sizes=(8,),
    max_iter=10,
    learning_rate_init=0.01,
    hidden_dropout=0.1,
    random_state=0,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _same(a, b):
    for attr in ("coefs_", "intercepts_"):
        for left, right in zip(getattr(a, attr), getattr(b, attr), strict=True):
            np.testing.assert_array_equal(left, right)


# --- class_weight -----------------------------------------------------------


def test_class_weight_dict_is_a_sample_weight_per_class(iris):
    X, y = iris
    weights = {0: 3.0, 2: 0.5}  # class 1 left out: weight 1
    given = DropoutMLPClassifier(**FAST, class_weight=weights).fit(X, y)
    rows = np.select([y == 0, y == 2], [3.0, 0.5], 1.0)
    expected = DropoutMLPClassifier(**FAST).fit(X, y, sample_weight=rows)
    _same(given, expected)
    # With sample_weight too, the two multiply (in float32: the product's
    # rounding differs from float64's).
    sw = np.linspace(0.5, 2.0, len(y))
    both = DropoutMLPClassifier(**FAST, class_weight=weights).fit(X, y, sw)
    product = DropoutMLPClassifier(**FAST).fit(X, y, sample_weight=sw * rows)
    np.testing.assert_allclose(both.predict_proba(X), product.predict_proba(X), 1e-5)


def test_class_weight_balanced_uses_the_class_counts(iris):
    X, y = iris
    X, y = X[:110], y[:110]  # 50, 50 and 10 rows
    balanced = DropoutMLPClassifier(**FAST, class_weight="balanced").fit(X, y)
    rows = compute_sample_weight("balanced", y)
    assert rows[-1] == pytest.approx(110 / (3 * 10))
    _same(balanced, DropoutMLPClassifier(**FAST).fit(X, y, sample_weight=rows))
    plain = DropoutMLPClassifier(**FAST).fit(X, y)
    assert not np.array_equal(balanced.coefs_[0], plain.coefs_[0])


def test_class_weight_in_partial_fit(iris):
    X, y = iris
    model = DropoutMLPClassifier(**FAST, class_weight="balanced")
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported"):
        model.partial_fit(X, y, classes=[0, 1, 2])
    weights = {0: 2.0, 1: 1.0, 2: 1.0}
    given = DropoutMLPClassifier(**FAST, class_weight=weights)
    given.partial_fit(X, y, classes=[0, 1, 2])
    expected = DropoutMLPClassifier(**FAST)
    expected.partial_fit(X, y, classes=[0, 1, 2], sample_weight=np.where(y == 0, 2, 1))
    _same(given, expected)


@pytest.mark.parametrize(
    ("class_weight", "error", "match"),
    [
        ("auto", InvalidParameterError, "class_weight"),
        ({0: 1.0, 7: 2.0}, ValueError, r"classes, \[1, 2\], are not in class_weight"),
    ],
)
def test_bad_class_weight(iris, class_weight, error, match):
    X, y = iris
    with pytest.raises(error, match=match):
        DropoutMLPClassifier(**FAST, class_weight=class_weight).fit(X, y)


def test_cv_class_weight_is_computed_on_all_rows(iris):
    """Every member trains with the class weights of all the rows given (as
    LogisticRegressionCV), which is sample_weight of those weights."""
    X, y = iris
    X, y = X[:110], y[:110]
    grid = dict(FAST, input_dropouts=[0.0], hidden_dropouts=[0.0, 0.3], cv=3)
    del grid["hidden_dropout"]
    weighted = DropoutMLPClassifierCV(**grid, class_weight="balanced").fit(X, y)
    rows = compute_sample_weight("balanced", y)
    expected = DropoutMLPClassifierCV(**grid).fit(X, y, sample_weight=rows)
    np.testing.assert_array_equal(
        weighted.cv_results_["mean_test_score"], expected.cv_results_["mean_test_score"]
    )
    for a, b in zip(weighted.estimators_, expected.estimators_, strict=True):
        assert a.class_weight == "balanced"
        _same(a, b)


# --- sparse X -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(early_stopping=True, n_iter_no_change=2),
        dict(solver="lbfgs", hidden_dropout=0.0),
    ],
    ids=["adam", "early_stopping", "lbfgs"],
)
def test_sparse_X_trains_and_predicts_as_dense(iris, fmt, params):
    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # some zeros to leave out
    sparse = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    dense = DropoutMLPClassifier(**{**FAST, **params}).fit(X, y)
    model = DropoutMLPClassifier(**{**FAST, **params}).fit(sparse, y)
    _same(model, dense)
    np.testing.assert_array_equal(model.predict_proba(sparse), dense.predict_proba(X))
    np.testing.assert_array_equal(
        model.mc_predict(sparse, 3, random_state=0),
        dense.mc_predict(X, 3, random_state=0),
    )


def test_sparse_regressor_with_its_noise_and_std(diabetes_scaled):
    X, y = diabetes_scaled
    dense = DropoutMLPRegressor(**FAST).fit(X, y)
    model = DropoutMLPRegressor(**FAST).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(model.noise_variance_, dense.noise_variance_)
    for a, b in zip(
        model.predict(sp.csr_matrix(X[:20]), return_std=True),
        dense.predict(X[:20], return_std=True),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_sparse_X_is_densified_one_batch_at_a_time(monkeypatch):
    rng = np.random.default_rng(0)
    X = sp.random(1000, 30, density=0.05, format="csr", random_state=0)
    y = rng.integers(0, 2, 1000)
    sizes = []
    densify = _batches.SparseRows.__getitem__

    def recorded(self, index):
        out = densify(self, index)
        sizes.append(out.shape[0])
        return out

    monkeypatch.setattr(_batches.SparseRows, "__getitem__", recorded)
    params = dict(FAST, max_iter=2, batch_size=100)
    DropoutMLPClassifier(**params).fit(X, y)
    # Two epochs of ten batches, each densified alone.
    assert sizes[:20] == [100] * 20


def test_cv_takes_sparse_X(iris):
    X, y = iris
    grid = dict(FAST, input_dropouts=[0.0, 0.2], hidden_dropouts=[0.0], cv=3)
    del grid["hidden_dropout"]
    dense = DropoutMLPClassifierCV(**grid).fit(X, y)
    sparse = DropoutMLPClassifierCV(**grid).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(
        sparse.cv_results_["mean_test_score"], dense.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X)
    )


# --- n_iter_, warm_start and partial_fit ------------------------------------


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutMLPRegressor])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_n_iter_is_this_fits_epochs_after_a_warm_start(iris, Estimator, solver):
    X, y = iris
    params = dict(FAST, solver=solver, n_iter_no_change=np.inf, warm_start=True)
    if solver == "lbfgs":
        params.update(hidden_dropout=0.0, tol=0.0)
    model = Estimator(**params).fit(X, y)
    assert model.n_iter_ == 10 and isinstance(model.n_iter_, int)
    model.set_params(max_iter=20).fit(X, y)
    assert model.n_iter_ == 20  # scikit-learn's, not 30
    assert len(model.loss_curve_) == 30 and model.t_ == 30 * len(y)


@pytest.mark.parametrize("y_new", [[0, 1], [0, 1, 3], [0, 1, 2, 3]])
def test_warm_start_with_other_classes_raises_scikit_learns_error(iris, y_new):
    X, y = iris
    model = DropoutMLPClassifier(**FAST, warm_start=True).fit(X, y)
    y_i = np.resize(y_new, len(y))
    message = (
        "warm_start can only be used where `y` has the same classes as in the "
        f"previous call to fit. Previously got [0 1 2], `y` has {np.unique(y_i)}"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model.fit(X, y_i)
    model.fit(X, y[::-1])  # the same classes, in another order, are fine
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutMLPRegressor])
def test_partial_fit_refuses_early_stopping(iris, Estimator):
    X, y = iris
    model = Estimator(**FAST, early_stopping=True).fit(X, y)
    before = [c.copy() for c in model.coefs_]
    with pytest.raises(
        ValueError, match="partial_fit does not support early_stopping=True"
    ):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.coefs_[0], before[0])
    model.set_params(early_stopping=False).partial_fit(X, y)
    assert model.n_iter_ == 1


def test_multilabel_partial_fit_with_classes():
    X, Y = make_multilabel_classification(
        n_samples=50, random_state=0, return_indicator=True
    )
    model = DropoutMLPClassifier(**{**FAST, "hidden_layer_sizes": (50,)})
    for _ in range(30):
        model.partial_fit(X, Y, classes=[0, 1, 2, 3, 4])
    np.testing.assert_array_equal(model.classes_, [0, 1, 2, 3, 4])
    assert model.predict(X).shape == Y.shape
    assert model.score(X, Y) > 0.2  # exact match of all five labels
    with pytest.raises(ValueError, match=r"must be the column indices \[0, 1, 2, 3"):
        DropoutMLPClassifier(**FAST).partial_fit(X, Y, classes=[1, 2, 3, 4, 5])


# --- L-BFGS, early stopping and divergence ---------------------------------


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutMLPRegressor])
def test_lbfgs_stopped_by_max_fun_warns(iris, Estimator):
    X, y = iris
    model = Estimator(
        hidden_layer_sizes=(50,),
        solver="lbfgs",
        hidden_dropout=0.0,
        max_iter=150,
        max_fun=10,
        tol=0.0,
        random_state=1,
    )
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS EXCEEDS LIMIT"):
        model.fit(X, y)
    assert model.n_iter_ <= 10


def test_validation_set_of_one_row_is_an_error():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(2, 5)), rng.normal(size=2)
    model = DropoutMLPRegressor(early_stopping=True, random_state=0)
    with pytest.raises(
        ValueError,
        match=r"^The validation set is too small: .*validation_fraction=0.1 of 2 "
        r"samples, which leaves 1 for training and 1 for validation",
    ):
        model.fit(X, y)


def test_diverging_fit_with_early_stopping_keeps_its_best_epoch(iris):
    X, y = iris
    params = dict(
        hidden_layer_sizes=(100,),
        activation="identity",
        solver="sgd",
        learning_rate_init=1.0,
        hidden_dropout=0.0,
        max_iter=20,
        random_state=0,
    )
    model = DropoutMLPRegressor(**params, early_stopping=True)
    with pytest.warns(ConvergenceWarning, match="diverged.*Kept the weights"):
        model.fit(X, y)
    scores = model.validation_scores_
    assert 1 <= model.n_iter_ == len(scores) < 20
    assert np.isfinite(scores).all()
    assert model.best_validation_score_ == max(scores)
    # The network is the best epoch's: it predicts, and scores that epoch on
    # the held-out rows (recomputed with the estimator's own split).
    X_val, y_val = model._split(X, y, None)[1::2][:2]
    assert model.score(X_val, y_val) == pytest.approx(max(scores), rel=1e-5)
    # Without early stopping there is no epoch to keep: an error, as before.
    with pytest.raises(FloatingPointError, match="diverged"):
        DropoutMLPRegressor(**params).fit(X, y)


# --- verbose, dtypes, one class ---------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_verbose_prints_scikit_learns_lines(iris, capsys, solver):
    X, y = iris
    params = dict(FAST, solver=solver, max_iter=2, verbose=True, hidden_dropout=0.0)
    model = DropoutMLPClassifier(**params).fit(X, y)
    if solver == "sgd":
        model.partial_fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Iteration 1, loss = \d+\.\d{8}", out[0])
    assert out[1].startswith("Iteration 2, loss = ")
    assert len(out) == (3 if solver == "sgd" else 2)
    DropoutMLPClassifier(**{**params, "verbose": False}).fit(X, y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutMLPRegressor])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_coefs_take_the_dtype_of_X(iris, Estimator, dtype):
    X, y = iris
    model = Estimator(**FAST).fit(X.astype(dtype), y)
    assert all(c.dtype == dtype for c in model.coefs_)
    assert all(b.dtype == dtype for b in model.intercepts_)
    # The network computes in float32 either way: the same predictions.
    twin = Estimator(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), twin.predict(X))


@pytest.mark.parametrize("label", [1, "spam"])
def test_a_single_class_fits_and_predicts_it(iris, label):
    X, _ = iris
    y = np.full(len(X), label, dtype=object if isinstance(label, str) else int)
    model = DropoutMLPClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.classes_, [label])
    np.testing.assert_array_equal(model.predict(X[:4]), [label] * 4)
    np.testing.assert_array_equal(model.predict_proba(X[:4]), np.ones((4, 1)))
    assert model.score(X, y) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict_log_proba(X[:2])


def test_sparse_X_with_categorical_features_is_a_clear_error(iris):
    X, y = iris
    model = DropoutMLPClassifier(**FAST, categorical_features=[0])
    with pytest.raises(ValueError, match=r"categorical_features=\[0\] itself, which"):
        model.fit(sp.csr_matrix(X), y)
    model.fit(np.column_stack([np.arange(len(y)) % 3, X[:, 1:]]), y)
    with pytest.raises(ValueError, match="needs a dense X or a DataFrame"):
        model.predict(sp.csr_matrix(X))


@pytest.mark.parametrize("categorical_features", [np.array([0]), [], np.array([])])
def test_sparse_X_with_categorical_features_as_an_array(iris, categorical_features):
    """An array of columns is read as a list (not numpy's ambiguous truth
    value), and an empty one encodes nothing, so a sparse X trains."""
    X, y = iris
    model = DropoutMLPClassifier(**FAST, categorical_features=categorical_features)
    if len(categorical_features):
        with pytest.raises(ValueError, match="itself, which needs a dense X"):
            model.fit(sp.csr_matrix(X), y)
    else:
        model.fit(sp.csr_matrix(X), y)
        assert model.predict(sp.csr_matrix(X)).shape == y.shape


def test_class_weight_of_a_multilabel_y(iris):
    """A multilabel y takes a list of one dict per column (the product of its
    columns' weights, as compute_sample_weight); a single dict or a list for
    one column is a clear error."""
    X, y = iris
    Y = np.column_stack([y == 0, y == 2]).astype(int)
    weights = [{0: 1.0, 1: 3.0}, {0: 1.0, 1: 0.5}]
    given = DropoutMLPClassifier(**FAST, class_weight=weights).fit(X, Y)
    expected = DropoutMLPClassifier(**FAST).fit(
        X, Y, sample_weight=compute_sample_weight(weights, Y)
    )
    _same(given, expected)
    with pytest.raises(ValueError, match="is a dict, but y is multilabel"):
        DropoutMLPClassifier(**FAST, class_weight={0: 1, 1: 2}).fit(X, Y)
    with pytest.raises(ValueError, match="class_weight is a list"):
        DropoutMLPClassifier(**FAST, class_weight=weights).fit(X, y)
