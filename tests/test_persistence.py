"""Saving and loading fitted estimators: pickle, skops, devices, versions."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skdrop.utils._persistence
from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
)
from skdrop.datasets import load_penguins
from skdrop.exceptions import InconsistentVersionWarning
from skdrop.neural_network._base import _BaseDropoutMLP

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# The types a skops file of a skdrop estimator holds beyond what skops trusts
# by default (numpy arrays, containers, scikit-learn's own estimators); the
# persistence page of the user guide lists the same names.
TRUSTED = [
    "skdrop.utils._categorical.CategoricalEncoder",
    "skdrop.linear_model._linear.DropoutLinearRegression",
    "skdrop.linear_model._linear_cv.DropoutLinearRegressionCV",
    "skdrop.neural_network._classifier.DropoutMLPClassifier",
    "skdrop.neural_network._regressor.DropoutMLPRegressor",
]
DOCS = Path(__file__).parent.parent / "docs" / "user_guide" / "persistence.rst"

SMALL = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)


@pytest.fixture(scope="module")
def penguins():
    """The Palmer penguins: numeric columns (with NaN rows dropped), two
    string columns the networks encode themselves, species as the target."""
    df = load_penguins().dropna().reset_index(drop=True)
    X = df.drop(columns=["species", "year"])
    numeric = X.select_dtypes("number").columns
    X[numeric] = (X[numeric] - X[numeric].mean()) / X[numeric].std()
    return X, df["species"].to_numpy()


def _cases(penguins):
    X, species = penguins
    numeric = X.select_dtypes("number")
    mass = numeric["body_mass_g"].to_numpy()
    numeric_x = numeric.drop(columns="body_mass_g")
    mixed_x = X.drop(columns="body_mass_g")
    return {
        "classifier": (
            DropoutMLPClassifier(input_dropout=0.2, hidden_dropout=0.3, **SMALL),
            X,
            species,
        ),
        "classifier_batch_norm_early_stopping": (
            DropoutMLPClassifier(
                batch_norm=True, early_stopping=True, input_dropout=0.1, **SMALL
            ),
            X,
            species,
        ),
        "classifier_dropconnect_test_time": (
            DropoutMLPClassifier(
                dropout_type="dropconnect", dropout_scaling="test_time", **SMALL
            ),
            numeric,
            species,
        ),
        "regressor_gaussian_two_targets": (
            DropoutMLPRegressor(dropout_type="gaussian", input_dropout=0.2, **SMALL),
            mixed_x,
            np.column_stack([mass, mass**2]),
        ),
        "regressor_selu_alpha": (
            DropoutMLPRegressor(
                activation="selu", dropout_type="alpha", hidden_dropout=0.1, **SMALL
            ),
            numeric_x,
            mass,
        ),
        "regressor_gaussian_nll": (
            DropoutMLPRegressor(loss="gaussian_nll", hidden_dropout=0.1, **SMALL),
            numeric_x,
            mass,
        ),
        "linear_closed_form": (
            DropoutLinearRegression(input_dropout=0.3),
            numeric_x,
            mass,
        ),
        "linear_sgd": (
            DropoutLinearRegression(
                input_dropout=0.3, solver="sgd", max_iter=3, random_state=0
            ),
            mixed_x,
            mass,
        ),
        "linear_cv": (DropoutLinearRegressionCV(), numeric_x, mass),
    }


CASES = [
    "classifier",
    "classifier_batch_norm_early_stopping",
    "classifier_dropconnect_test_time",
    "regressor_gaussian_two_targets",
    "regressor_selu_alpha",
    "regressor_gaussian_nll",
    "linear_closed_form",
    "linear_sgd",
    "linear_cv",
]


@pytest.fixture(scope="module")
def fitted(penguins):
    """Every case fitted once."""
    return {
        name: (clone(est).fit(X, y), X, y)
        for name, (est, X, y) in _cases(penguins).items()
    }


def _outputs(model, X):
    """Everything a fitted estimator computes, for bitwise comparison."""
    out = {"predict": model.predict(X)}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(X)
    if hasattr(model, "mc_predict"):
        out["mc_predict"] = model.mc_predict(X, n_samples=3, random_state=0)
    if hasattr(model, "predict_interval"):
        # The noise estimate (or the noise head) travels in the file.
        out["predict_interval"] = model.predict_interval(X, n_samples=3)
        if model.noise_variance_ is not None:
            out["noise_variance_"] = model.noise_variance_
    for name in ("coefs_", "intercepts_"):
        if hasattr(model, name):
            out.update({f"{name}{i}": a for i, a in enumerate(getattr(model, name))})
    for name in ("coef_", "intercept_", "penalty_"):
        if hasattr(model, name):
            out[name] = np.asarray(getattr(model, name))
    return out


def _assert_same(a, b, X):
    before, after = _outputs(a, X), _outputs(b, X)
    assert before.keys() == after.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


def _skops_round_trip(model):
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= set(TRUSTED), untrusted
    return sio.loads(data, trusted=TRUSTED)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_round_trip_gives_identical_predictions(fitted, case, how):
    model, X, _ = fitted[case]
    if how == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        restored = _skops_round_trip(model)
    assert type(restored) is type(model)
    # assert_equal: error_score=nan equals itself.
    np.testing.assert_equal(restored.get_params(), model.get_params())
    _assert_same(model, restored, X)


@pytest.mark.parametrize("case", CASES[:5])
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_loaded_network_continues_training_exactly(fitted, case, how):
    """The optimizer moments, the schedule and the mask streams (including
    partly used pools of mask bits) travel in the file: one more epoch on the
    original and on the loaded copy gives the same network."""
    model, X, y = fitted[case]
    original = pickle.loads(pickle.dumps(model))  # keep the fixture intact
    if how == "pickle":
        restored = pickle.loads(pickle.dumps(original))
    else:
        restored = _skops_round_trip(original)
    epochs = len(model.loss_curve_)
    for m in (original, restored):
        # partial_fit refuses early stopping, as scikit-learn's.
        m.set_params(early_stopping=False)
        m.partial_fit(X, y)
        m.partial_fit(X, y)
    assert restored.n_iter_ == original.n_iter_ == 1  # the last call's epochs
    assert len(restored.loss_curve_) == len(original.loss_curve_) == epochs + 2
    _assert_same(original, restored, X)


def test_files_hold_no_pickled_code(fitted):
    """A network's torch state is saved as numpy arrays and plain values, so
    skops needs to trust only skdrop's own classes."""
    model, _, _ = fitted["classifier"]
    state = model.__getstate__()
    assert "module_" not in state and "_trainer" not in state

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                yield from walk(v)
        else:
            yield value

    leaves = list(walk(state["_torch_state"]))
    allowed = (np.ndarray, np.generic, int, float, str, bool, type(None))
    assert all(isinstance(v, allowed) for v in leaves)


def test_skops_refuses_untrusted_types(fitted):
    model, _, _ = fitted["classifier"]
    data = sio.dumps(model)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)


def test_pipeline_needs_only_skdrop_types_trusted(penguins):
    X, y = penguins
    numeric = X.select_dtypes("number")
    pipe = make_pipeline(StandardScaler(), DropoutMLPClassifier(**SMALL))
    pipe.fit(numeric, y)
    data = sio.dumps(pipe)
    assert sio.get_untrusted_types(data=data) == [
        "skdrop.neural_network._classifier.DropoutMLPClassifier"
    ]
    restored = sio.loads(
        data, trusted=["skdrop.neural_network._classifier.DropoutMLPClassifier"]
    )
    np.testing.assert_array_equal(
        restored.predict_proba(numeric), pipe.predict_proba(numeric)
    )


def test_trusted_types_are_documented():
    text = DOCS.read_text()
    for name in TRUSTED:
        assert name in text, name


@pytest.mark.parametrize(
    "Estimator",
    [
        DropoutMLPClassifier,
        DropoutMLPRegressor,
        DropoutLinearRegression,
        DropoutLinearRegressionCV,
    ],
)
def test_unfitted_estimators_round_trip(Estimator):
    model = Estimator()
    for restored in (
        pickle.loads(pickle.dumps(model)),
        sio.loads(sio.dumps(model), trusted=TRUSTED),
    ):
        np.testing.assert_equal(restored.get_params(), model.get_params())
        assert not hasattr(restored, "n_features_in_")


# --- a model trained on a GPU, loaded on a CPU-only machine -----------------


def _as_if_saved_on_cuda(state):
    """Turn a CPU model's saved state into what a ``device="cuda"`` fit saves:
    the same plain values, with the device names and the mask stream of a
    CUDA generator (the state bytes of a torch generator)."""
    saved = dict(state["_torch_state"])
    saved["device"] = "cuda:0"
    trainer = dict(saved["trainer"])
    generator = torch.Generator().manual_seed(5)
    trainer["noise"] = {"device": "cuda:0", "torch": generator.get_state().numpy()}
    saved["trainer"] = trainer
    return {**state, "_torch_state": saved}


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a CPU-only machine")
@pytest.mark.parametrize("case", ["classifier", "regressor_gaussian_two_targets"])
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_cuda_model_loads_on_cpu_only_machine(fitted, case, how, monkeypatch):
    model, X, y = fitted[case]
    model = pickle.loads(pickle.dumps(model))
    save = _BaseDropoutMLP.__getstate__
    monkeypatch.setattr(
        _BaseDropoutMLP, "__getstate__", lambda self: _as_if_saved_on_cuda(save(self))
    )
    data = pickle.dumps(model) if how == "pickle" else sio.dumps(model)
    monkeypatch.undo()
    with pytest.warns(
        UserWarning, match=r"saved on device 'cuda:0'.*loaded on the CPU"
    ):
        if how == "pickle":
            restored = pickle.loads(data)
        else:
            restored = sio.loads(data, trusted=TRUSTED)
    assert next(restored.module_.parameters()).device.type == "cpu"
    _assert_same(model, restored, X)
    # Training goes on, on the CPU: the optimizer state carried over (same
    # step count), the masks come from a new CPU stream.
    steps = model._trainer._steps
    restored.partial_fit(X, y)
    assert len(restored.loss_curve_) == len(model.loss_curve_) + 1
    assert restored._trainer._steps > steps
    assert restored._trainer.noise.device.type == "cpu"


# --- version stamps ---------------------------------------------------------


@pytest.mark.parametrize("case", ["classifier", "regressor_selu_alpha", "linear_cv"])
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_other_minor_version_warns(fitted, case, how, monkeypatch):
    model, X, _ = fitted[case]
    monkeypatch.setattr(skdrop.utils._persistence, "__version__", "0.0.3")
    data = pickle.dumps(model) if how == "pickle" else sio.dumps(model)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning) as record:
        restored = (
            pickle.loads(data) if how == "pickle" else sio.loads(data, trusted=TRUSTED)
        )
    warning = record[0].message
    assert warning.estimator_name == type(model).__name__
    assert warning.original_skdrop_version == "0.0.3"
    assert warning.current_skdrop_version == skdrop.__version__
    assert re.search("from skdrop version 0.0.3 when using version", str(warning))
    # It loads and predicts all the same.
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_patch_release_does_not_warn(fitted, monkeypatch):
    model, _, _ = fitted["classifier"]
    major, minor, _ = skdrop.__version__.split(".")
    monkeypatch.setattr(skdrop.utils._persistence, "__version__", f"{major}.{minor}.99")
    data = pickle.dumps(model)
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(data)


def test_unstamped_state_warns(fitted):
    model, _, _ = fitted["linear_closed_form"]
    state = model.__getstate__()
    del state["_skdrop_version"]
    with pytest.warns(InconsistentVersionWarning, match="version pre-0.1"):
        DropoutLinearRegression.__new__(DropoutLinearRegression).__setstate__(state)


def test_development_format_is_an_error_not_a_half_fitted_model(fitted):
    # Development builds stored the torch objects as torch.save bytes.
    model, _, _ = fitted["classifier"]
    state = model.__getstate__()
    del state["_torch_state"], state["_skdrop_version"]
    state["_torch_bytes"] = b"..."
    empty = DropoutMLPClassifier.__new__(DropoutMLPClassifier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        with pytest.raises(ValueError, match=r"development build .* refit it"):
            empty.__setstate__(state)


def test_pickling_leaves_the_estimator_alone(fitted):
    model, X, _ = fitted["classifier"]
    before = _outputs(model, X)
    pickle.dumps(model)
    sio.dumps(model)
    assert hasattr(model, "module_") and hasattr(model, "_trainer")
    assert "_skdrop_version" not in model.__dict__
    after = _outputs(model, X)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


# --- files from before a parameter existed ----------------------------------


def _as_if_saved_before_target_scaling(state):
    """What a regressor saved before ``target_scaling`` existed holds: no
    parameter, no fitted mean and scale."""
    names = (
        "target_scaling",
        "_target_scaling_fitted",
        "target_mean_",
        "target_scale_",
    )
    return {key: value for key, value in state.items() if key not in names}


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_regressor_from_before_target_scaling_predicts_as_it_did(
    fitted, how, monkeypatch
):
    """Such a network was trained on the raw target: it loads as
    ``target_scaling=None`` with mean 0 and scale 1, and predicts as before
    (rather than mapping its raw outputs through a scale it never had)."""
    model, X, y = fitted["regressor_gaussian_two_targets"]
    # A model trained without scaling, as every model was before.
    model = clone(model).set_params(target_scaling=None).fit(X, y)
    save = _BaseDropoutMLP.__getstate__
    monkeypatch.setattr(
        _BaseDropoutMLP,
        "__getstate__",
        lambda self: _as_if_saved_before_target_scaling(save(self)),
    )
    data = pickle.dumps(model) if how == "pickle" else sio.dumps(model)
    monkeypatch.undo()
    restored = (
        pickle.loads(data) if how == "pickle" else sio.loads(data, trusted=TRUSTED)
    )
    assert restored.target_scaling is None
    np.testing.assert_array_equal(restored.target_mean_, np.zeros(2))
    np.testing.assert_array_equal(restored.target_scale_, np.ones(2))
    _assert_same(model, restored, X)
    # It continues training on the raw target, as the original does.
    original = pickle.loads(pickle.dumps(model))
    for m in (original, restored):
        m.partial_fit(X, y)
    _assert_same(original, restored, X)


def test_unfitted_regressor_from_before_target_scaling():
    state = _as_if_saved_before_target_scaling(DropoutMLPRegressor().__getstate__())
    restored = DropoutMLPRegressor.__new__(DropoutMLPRegressor)
    restored.__setstate__(state)
    assert restored.target_scaling is None
    assert not hasattr(restored, "target_mean_")
