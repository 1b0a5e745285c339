"""Models saved by an earlier skdrop load and predict as they did.

The files under ``tests/data/saved_models`` were written by the code of
commit e8dc0b2 (``make_saved_models.py`` there says how), before the engine
and the package layout changed: their pickles and skops files name modules
such as ``skdrop.neural_network._classifier``, which must still resolve.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone

from skdrop.exceptions import InconsistentVersionWarning
from tests.data.saved_models.cases import CASES, outputs, table

HERE = Path(__file__).parent / "data" / "saved_models"
SAVED_VERSION = (HERE / "VERSION").read_text().strip()

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def expected():
    with np.load(HERE / "expected.npz") as saved:
        return dict(saved)


def _load(name, how):
    path = HERE / f"{name}.{'pkl' if how == 'pickle' else 'skops'}"
    with warnings.catch_warnings():
        # A file of another major.minor release warns and still loads.
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        if how == "pickle":
            return pickle.loads(path.read_bytes())
        untrusted = sio.get_untrusted_types(file=path)
        # Only skdrop's own classes (under their old module names) and
        # scikit-learn's scorer need trusting: nothing foreign.
        assert all(t.startswith(("skdrop.", "sklearn.")) for t in untrusted)
        return sio.load(path, trusted=untrusted)


@pytest.mark.parametrize("how", ["pickle", "skops"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_old_files_predict_as_saved(name, how, expected):
    model = _load(name, how)
    X, _ = table(CASES[name][1])
    got = outputs(model, X)
    keys = {k.split("/", 1)[1] for k in expected if k.startswith(f"{name}/")}
    assert set(got) == keys
    # To float32 rounding, not bit for bit: the BLAS picks its kernel (and
    # so its summation order) per CPU, and the files were written elsewhere.
    for key, value in got.items():
        saved = expected[f"{name}/{key}"]
        if value.dtype.kind == "f":
            np.testing.assert_allclose(value, saved, rtol=1e-5, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(value, saved, err_msg=key)


@pytest.mark.parametrize("name", ["mlp_classifier", "mlp_regressor"])
def test_old_files_continue_training(name):
    """A loaded network keeps its optimizer state: partial_fit goes on."""
    model = _load(name, "pickle")
    X, y = table(CASES[name][1])
    before = len(model.loss_curve_)
    model.partial_fit(X, y)
    # n_iter_ counts this call's epoch (the file's counted every epoch).
    assert model.n_iter_ == 1 and len(model.loss_curve_) == before + 1
    assert np.isfinite(
        model.predict_proba(X) if name.endswith("classifier") else model.predict(X)
    ).all()


@pytest.mark.parametrize("how", ["pickle", "skops"])
@pytest.mark.parametrize("name", ["mlp_classifier_cv", "mlp_regressor_cv"])
def test_old_network_searches_have_the_search_interface(name, how):
    """A 0.2 CV network loads with 0.3's search interface and fitted rates
    (its members' epochs, then ``n_iter_``, in ``cv_results_``), and clones
    with the parameters added since."""
    model = _load(name, how)
    best = model.best_index_
    assert model.best_params_ == model.cv_results_["params"][best]
    assert set(model.best_params_) == {"input_dropout", "hidden_dropout"}
    assert model.input_dropout_.shape == (model.n_features_in_,)
    assert isinstance(model.hidden_dropout_, list) and isinstance(model.n_iter_, int)
    epochs = [model.cv_results_[f"split{k}_n_iter"] for k in range(model.n_splits_)]
    assert model.n_iter_ == max(int(e[best]) for e in epochs)
    params = clone(model).get_params()
    assert params["n_jobs"] is None and np.isnan(params["error_score"])
    if "classifier" in name:
        assert params["class_weight"] is None


def test_a_file_of_another_release_warns_with_its_version(monkeypatch):
    """Loading under another major.minor release names the release that
    wrote the file (read from the file's own stamp)."""
    monkeypatch.setattr("skdrop.utils._persistence.__version__", "99.0.0")
    with pytest.warns(InconsistentVersionWarning) as record:
        pickle.loads((HERE / "linear.pkl").read_bytes())
    warning = record[0].message
    assert warning.original_skdrop_version == SAVED_VERSION
    assert warning.current_skdrop_version == "99.0.0"


@pytest.mark.parametrize("how", ["pickle", "skops"])
@pytest.mark.parametrize("name", ["linear_cv", "logistic_cv"])
def test_old_search_files_have_the_search_interface(name, how):
    """A 0.2 search loads with GridSearchCV's interface, built from what
    the file holds; the old names read it with a FutureWarning."""
    model = _load(name, how)
    results = model.cv_results_
    assert "param_dropout" not in results
    rates = results["param_input_dropout"]
    assert [p["input_dropout"] for p in results["params"]] == list(rates)
    assert model.best_params_ == {"input_dropout": rates[model.best_index_]}
    assert model.best_score_ == results["mean_test_score"][model.best_index_]
    assert np.isnan(model.refit_time_)
    assert callable(model.scorer_)
    assert "dropout_" not in vars(model) and "scores_" not in vars(model)
    with pytest.warns(FutureWarning, match="best_params_"):
        assert model.dropout_ == model.best_params_["input_dropout"]
    if name == "logistic_cv":
        assert model.n_splits_ == 2 and "split1_test_score" in results
    else:
        with pytest.warns(FutureWarning, match="cv_results_"):
            np.testing.assert_array_equal(model.scores_, results["mean_test_score"])


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_old_closed_form_file_has_no_iterations(how):
    assert _load("linear", how).n_iter_ is None
