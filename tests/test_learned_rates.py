"""Learned dropout rates (Concrete dropout) on the networks."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdrop import (
    DropoutMLPClassifier,
    DropoutMLPClassifierCV,
    DropoutMLPRegressor,
)
from skdrop._engine import NetworkSpec, initialized_network
from skdrop._engine._layers import CONCRETE_TEMPERATURE, NoiseSource
from skdrop._engine._objective import head_loss_and_grad
from skdrop._engine._stack import NetworkStack
from skdrop.datasets import load_penguins

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LEARNED = dict(input_dropout="learned", hidden_dropout="learned")
FAST = dict(
    hidden_layer_sizes=(16,),
    max_iter=50,
    learning_rate_init=0.01,
    random_state=0,
    **LEARNED,
)


@pytest.fixture(scope="module")
def penguins():
    """The bundled penguins: numeric columns standardized, island and sex
    categorical (encoded by the estimator), species the target."""
    frame = load_penguins().dropna()
    y = frame.pop("species").to_numpy()
    numeric = frame.select_dtypes("number").columns
    frame[numeric] = StandardScaler().fit_transform(frame[numeric])
    for column in ("island", "sex"):
        frame[column] = frame[column].astype("category")
    return frame, y


def _expected_failures(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "mini-batch training draws random masks and batches: integer weights "
            "and repeated rows agree in expectation, not bitwise"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "as on dense data: a sparse X trains as its dense copy"
        ),
    }


@parametrize_with_checks(
    [DropoutMLPClassifier(**FAST), DropoutMLPRegressor(**FAST)],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible_with_learned_rates(estimator, check):
    check(estimator)


# --- the engine: gradients --------------------------------------------------


def _network(groups=None, activation="relu", dtype=torch.float32):
    spec = NetworkSpec(
        5, (7, 6), 3, activation, (math.nan, 0.2, math.nan), "bernoulli",
        "inverted", False, groups,
    )  # fmt: skip
    network = initialized_network(spec, 0).to(dtype)
    with torch.no_grad():
        generator = torch.Generator().manual_seed(1)
        for logits in network.learned_logits:
            logits.copy_(torch.rand(logits.shape, generator=generator) * 3 - 2)
    return network


def _batch(dtype=torch.float32):
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(11, 5, generator=generator, dtype=dtype)
    labels = torch.randint(0, 3, (11,), generator=generator)
    return x, torch.nn.functional.one_hot(labels, 3).to(dtype)


@pytest.mark.parametrize("groups", [None, np.array([0, 0, 1, 2, 2])])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(
    ("dtype", "tol"),
    # float32 rounds 1 - z near 1, and the relaxation's 1 / t = 10 amplifies
    # that in the logits' gradient: about 10 * eps32 relative per row.
    [(torch.float64, 1e-10), (torch.float32, 1e-4)],
)
def test_hand_written_backward_matches_autograd(groups, activation, dtype, tol):
    """The engine's gradients, the rate logits' included, are autograd's for
    the same relaxed masks (the same stream)."""
    network = _network(groups, activation, dtype)
    x, y = _batch(dtype)
    stack = NetworkStack.alone(network)
    with torch.no_grad():
        out, cache = stack.forward_train(x, [NoiseSource(3, torch.device("cpu"))], [11])
        _, grad = head_loss_and_grad(out, y, None, "softmax")
        stack.backward(grad, cache)
    slots = stack.slots
    network.train()
    out = network(x, NoiseSource(3, torch.device("cpu")))
    head_loss_and_grad(out, y, None, "softmax")[0].backward()
    for name, p in network.named_parameters():
        scale = float(p.grad.abs().max())
        torch.testing.assert_close(
            slots[p], p.grad, atol=tol * max(1.0, scale), rtol=0, msg=name
        )


@pytest.mark.parametrize("groups", [None, np.array([0, 0, 1, 2, 2])])
def test_rate_gradient_matches_finite_differences(groups):
    """d loss / d logit of the relaxed objective (fixed uniforms), in float64,
    against central differences."""
    network = _network(groups, dtype=torch.float64)
    x, y = _batch(torch.float64)

    stack = NetworkStack.alone(network)

    def loss():
        with torch.no_grad():
            noise = [NoiseSource(3, torch.device("cpu"))]
            out, _ = stack.forward_train(x, noise, [11])
            return float(head_loss_and_grad(out, y, None, "softmax")[0])

    with torch.no_grad():
        out, cache = stack.forward_train(x, [NoiseSource(3, torch.device("cpu"))], [11])
        _, grad = head_loss_and_grad(out, y, None, "softmax")
        stack.backward(grad, cache)
    slots = stack.slots
    h = 1e-6
    for logits in network.learned_logits:
        for k in range(logits.numel()):
            with torch.no_grad():
                logits[k] += h
                up = loss()
                logits[k] -= 2 * h
                down = loss()
                logits[k] += h
            numeric = (up - down) / (2 * h)
            # Central differences err by O(h^2) times the third derivative,
            # which the 1/t = 10 of the relaxation makes large: 1e-6 relative.
            assert float(slots[logits][k]) == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_penalty_value_and_gradient():
    """The regularizer by hand (per feature, per layer) and its gradient."""
    network = _network()
    n, scale = 200, 0.3
    stack = NetworkStack.alone(network)
    value = stack.concrete_penalty_(n, scale)
    slots = stack.slots
    expected = 0.0
    wr, dr = scale**2 / n, 2.0 / n
    for linear, site, logits in zip(
        network.linear_layers, network.sites, network.rate_logits, strict=True
    ):
        if logits is None:
            continue
        p = torch.sigmoid(logits.detach()).double()
        columns = (linear.weight.detach().double() ** 2).sum(0)
        if site.per_column:
            squares, units = columns, 1.0
        else:
            squares, units = columns.sum().reshape(1), linear.weight.shape[1]
        entropy = p * torch.log(p) + (1 - p) * torch.log(1 - p)
        expected += float((wr * squares / (1 - p) + dr * units * entropy).sum())
    assert float(value) == pytest.approx(expected, rel=1e-5)
    # Autograd of the same expression.
    total = 0.0
    for linear, site, logits in zip(
        network.linear_layers, network.sites, network.rate_logits, strict=True
    ):
        if logits is None:
            continue
        p = torch.sigmoid(logits)
        columns = (linear.weight**2).sum(0)
        squares = columns if site.per_column else columns.sum().reshape(1)
        units = 1.0 if site.per_column else linear.weight.shape[1]
        entropy = p * torch.log(p) + (1 - p) * torch.log(1 - p)
        total = total + (wr * squares / (1 - p) + dr * units * entropy).sum()
    total.backward()
    for name, p in network.named_parameters():
        if p.grad is not None:
            torch.testing.assert_close(slots[p], p.grad, atol=1e-9, rtol=1e-5, msg=name)


def test_concrete_mask_is_a_relaxed_bernoulli():
    """Relaxed masks at t = 0.1 are nearly 0/1: the share of near-dropped
    entries matches the rate within its standard error (4 sigma)."""
    network = _network()
    site = network.sites[2]
    p = float(site.rates()[0])
    source = NoiseSource(0, torch.device("cpu"))
    mult, kept = site.concrete(4000, 6, source, torch.float32)
    dropped = float((kept < 0.5).float().mean())
    se = math.sqrt(p * (1 - p) / kept.numel())
    assert abs(dropped - p) < 4 * se
    assert CONCRETE_TEMPERATURE == 0.1
    # Kept entries are scaled by 1 / (1 - p): mean multiplier near 1.
    assert float(mult.detach().mean()) == pytest.approx(1.0, abs=0.05)


# --- the estimators ---------------------------------------------------------


def _informative_and_noise(seed):
    X, y = make_classification(
        1500, 25, n_informative=5, n_redundant=0, n_repeated=0, shuffle=False,
        random_state=seed,
    )  # fmt: skip
    return X, y


def test_learned_relevance_separates_informative_from_noise():
    """5 informative and 20 pure-noise features: the learned keep
    probabilities separate them, ROC AUC >= 0.95 for each of 3 seeds."""
    truth = np.r_[np.ones(5), np.zeros(20)]
    for seed in range(3):
        X, y = _informative_and_noise(seed)
        model = DropoutMLPClassifier(max_iter=60, random_state=seed, **LEARNED).fit(
            X, y
        )
        assert roc_auc_score(truth, 1.0 - model.input_dropout_) >= 0.95


def test_more_data_less_dropout():
    """The learned hidden rate falls as N grows on one data source (about the
    same number of steps each), as the 1 / N of the regularizer predicts."""
    X, y = make_friedman1(4000, 10, noise=1.0, random_state=0)
    rates = []
    for n, epochs in ((250, 160), (1000, 40), (4000, 10)):
        model = DropoutMLPRegressor(
            (64,), hidden_dropout="learned", max_iter=epochs, random_state=0,
            n_iter_no_change=10**6,
        ).fit(X[:n], y[:n])  # fmt: skip
        rates.append(model.hidden_dropout_[0])
    assert rates[0] > rates[1] > rates[2]


def test_group_rate_is_shared(penguins):
    """A categorical column's one-hot block and a feature group have one rate."""
    X, y = penguins
    model = DropoutMLPClassifier(
        max_iter=20, random_state=0, feature_groups=[[0, 1]], **LEARNED
    ).fit(X, y)
    network = model.module_
    assert network.rate_logits[0].numel() == len(model.feature_groups_)
    assert model.input_dropout_.shape == (X.shape[1],)
    assert model.input_dropout_[0] == model.input_dropout_[1]
    assert len(np.unique(model.input_dropout_)) == len(model.feature_groups_)


def test_fitted_rates_history_and_mixed_forms():
    X, y = make_classification(300, 6, random_state=0)
    model = DropoutMLPClassifier(
        (8, 8), input_dropout=0.1, hidden_dropout=(0.2, "learned"), max_iter=15,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    assert model.hidden_dropout_[0] == pytest.approx(0.2)
    assert 0 < model.hidden_dropout_[1] < 1 and model.hidden_dropout_[1] != 0.1
    np.testing.assert_allclose(model.input_dropout_, 0.1, rtol=1e-6)
    assert model.hidden_dropout_history_.shape == (model.n_iter_, 2)
    assert model.input_dropout_history_.shape == (model.n_iter_, 6)
    assert model.hidden_dropout_history_[-1, 1] == pytest.approx(
        model.hidden_dropout_[1]
    )
    # The learned rate moved from where it started (0.1).
    assert abs(model.hidden_dropout_history_[0, 1] - model.hidden_dropout_[1]) > 0
    fixed = DropoutMLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    assert fixed.input_dropout_history_ is None
    assert fixed.hidden_dropout_ == [0.5]


def test_prediction_uses_learned_rates_as_fixed():
    X, y = make_classification(400, 8, random_state=0)
    model = DropoutMLPRegressor(max_iter=30, random_state=0, **LEARNED).fit(X, y)
    _, std = model.predict(X[:20], return_std=True)
    assert (std > 0).all()
    draws = model.mc_predict(X[:20], n_samples=400, random_state=0)
    # MC masks drop at the learned rates: their mean approaches the
    # deterministic prediction (inverted scaling) within a few MC errors.
    err = draws.std(axis=0) / math.sqrt(400)
    assert np.all(np.abs(draws.mean(axis=0) - model.predict(X[:20])) < 5 * err + 1e-3)


def test_persistence_keeps_learned_rates(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    X, y = make_classification(200, 5, random_state=0)
    model = DropoutMLPClassifier(max_iter=10, random_state=0, **LEARNED).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.input_dropout_, model.input_dropout_)
    np.testing.assert_allclose(
        loaded.module_.sites[0].rates(), model.module_.sites[0].rates()
    )
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    path = tmp_path / "model.skops"
    skops_io.dump(model, path)
    again = skops_io.load(path, trusted=skops_io.get_untrusted_types(file=path))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    np.testing.assert_allclose(
        again.module_.sites[1].rates(), model.module_.sites[1].rates()
    )


def test_warm_start_continues_learned_rates():
    X, y = make_classification(300, 5, random_state=0)
    model = DropoutMLPClassifier(
        max_iter=5, random_state=0, warm_start=True, **LEARNED
    ).fit(X, y)
    model.fit(X, y)
    assert model.input_dropout_history_.shape == (10, 5)
    model.set_params(input_dropout=0.1)
    with pytest.raises(ValueError, match="cannot switch between learned and fixed"):
        model.fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(dropout_type="gaussian"), "need dropout_type='bernoulli'"),
        (dict(dropout_type="dropconnect"), "need dropout_type='bernoulli'"),
        (dict(dropout_scaling="test_time"), "need dropout_scaling='inverted'"),
        (dict(solver="lbfgs"), "every dropout\\s+rate must be 0"),
    ],
)
def test_learned_rates_bad_combinations(params, match):
    X, y = make_classification(50, 4, random_state=0)
    with pytest.raises(ValueError, match=match):
        DropoutMLPClassifier(input_dropout="learned", max_iter=2, **params).fit(X, y)


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_prior_length_scale_must_be_positive(value):
    X, y = make_classification(50, 4, random_state=0)
    with pytest.raises(ValueError, match=f"prior_length_scale.*Got {value}"):
        DropoutMLPClassifier(prior_length_scale=value, **LEARNED).fit(X, y)


def test_unknown_rate_string():
    X, y = make_classification(50, 4, random_state=0)
    with pytest.raises(ValueError, match="'learnt'"):
        DropoutMLPClassifier(hidden_dropout=(0.1, "learnt")).fit(X, y)


# --- the CV estimator ---------------------------------------------------------


def test_cv_grid_with_learned_equals_grid_search():
    """ "learned" in a grid: its members train one by one, and every setting's
    scores are GridSearchCV's."""
    X, y = make_classification(240, 6, random_state=0)
    X = StandardScaler().fit_transform(X)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X, y))
    common = dict(
        hidden_layer_sizes=(8,), max_iter=20, learning_rate_init=0.01, random_state=0
    )
    grid = {"input_dropout": [0.0, "learned"], "hidden_dropout": [0.2, "learned"]}
    cv = DropoutMLPClassifierCV(
        **common,
        input_dropouts=grid["input_dropout"],
        hidden_dropouts=grid["hidden_dropout"],
        cv=folds,
        refit=True,
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(DropoutMLPClassifier(**common), grid, cv=folds)
        search.fit(X, y)
    ours = {
        (p["input_dropout"], p["hidden_dropout"]): score
        for p, score in zip(
            cv.cv_results_["params"], cv.cv_results_["mean_test_score"], strict=True
        )
    }
    theirs = {
        (p["input_dropout"], p["hidden_dropout"]): score
        for p, score in zip(
            search.cv_results_["params"],
            search.cv_results_["mean_test_score"],
            strict=True,
        )
    }
    assert ours.keys() == theirs.keys()
    for key, score in ours.items():
        assert score == pytest.approx(theirs[key], abs=1e-12), key
    assert min(ours.values()) > 0.7
    assert cv.best_estimator_.input_dropout == cv.best_params_["input_dropout"]


def test_learned_rates_on_a_real_table_with_categories(penguins):
    X, y = penguins
    model = DropoutMLPClassifier(max_iter=30, random_state=0, **LEARNED).fit(X, y)
    assert np.isfinite(model.input_dropout_).all()
    assert model.score(X, y) > 0.9
    categorical = [list(X.columns).index(c) for c in ("island", "sex")]
    assert model.module_.rate_logits[0].numel() == X.shape[1]
    assert all(0 < model.input_dropout_[j] < 1 for j in categorical)


def test_regularizer_terms_agree_in_numpy_and_torch():
    """The CPU computes the regularizer's scalar algebra in numpy, other
    devices in torch: the same function gives the same numbers."""
    from skdrop._engine._stack import _concrete_terms, _np_softplus

    rng = np.random.default_rng(0)
    theta, square = rng.normal(size=7) * 3, rng.random(7) * 5
    units = np.array([1.0] * 5 + [64.0] * 2)
    ours = _concrete_terms(theta, square, units, 1e-3, 2e-3, np.exp, _np_softplus)
    theirs = _concrete_terms(
        *(torch.from_numpy(a) for a in (theta, square, units)),
        1e-3,
        2e-3,
        torch.exp,
        torch.nn.functional.softplus,
    )
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_learned_rates_on_cuda():
    X, y = make_classification(500, 8, random_state=0)
    cpu = DropoutMLPClassifier(max_iter=20, random_state=0, **LEARNED).fit(X, y)
    gpu = DropoutMLPClassifier(
        max_iter=20, random_state=0, device="cuda", **LEARNED
    ).fit(X, y)
    assert gpu.input_dropout_.shape == cpu.input_dropout_.shape
    assert np.all((gpu.input_dropout_ > 0) & (gpu.input_dropout_ < 1))
    assert gpu.score(X, y) > 0.8


def test_a_new_fit_starts_new_histories():
    """Without warm_start a refit's histories are its own, whatever changed."""
    X, y = make_classification(200, 4, random_state=0)
    model = DropoutMLPClassifier((8,), max_iter=5, random_state=0, **LEARNED)
    model.fit(X, y).fit(X, y)
    assert model.input_dropout_history_.shape == (model.n_iter_, 4)
    model.set_params(hidden_layer_sizes=(8, 8)).fit(X[:, :3], y)
    assert model.input_dropout_history_.shape == (model.n_iter_, 3)
    assert model.hidden_dropout_history_.shape == (model.n_iter_, 2)


def test_partial_fit_regularizes_by_the_rows_seen():
    """A stream does not know the data set's size: the regularizer's N is
    the rows seen so far, not the size of one chunk."""
    X, y = make_classification(300, 4, random_state=0)
    model = DropoutMLPClassifier((8,), random_state=0, **LEARNED)
    for start in range(0, 300, 50):
        model.partial_fit(X[start : start + 50], y[start : start + 50], classes=[0, 1])
        assert model._trainer._n_rows == start + 50
    fitted = DropoutMLPClassifier((8,), max_iter=2, random_state=0, **LEARNED)
    assert fitted.fit(X, y)._trainer._n_rows == 300
