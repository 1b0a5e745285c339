"""dropout_relevance and DropoutRelevanceDisplay."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from skdrop import DropoutMLPClassifier, DropoutMLPRegressor
from skdrop.datasets import load_penguins
from skdrop.inspection import (
    DropoutRelevanceDisplay,
    ablation_importance,
    dropout_relevance,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LEARNED = dict(input_dropout="learned", hidden_dropout="learned")


@pytest.fixture(scope="module")
def penguins_with_noise():
    """Penguins with two pure-noise columns; island and sex categorical."""
    frame = load_penguins().dropna().reset_index(drop=True)
    y = frame.pop("species").to_numpy()
    rng = np.random.default_rng(0)
    frame["noise_a"] = rng.normal(size=len(frame))
    frame["noise_b"] = rng.normal(size=len(frame))
    numeric = frame.select_dtypes("number").columns
    frame[numeric] = StandardScaler().fit_transform(frame[numeric])
    for column in ("island", "sex"):
        frame[column] = frame[column].astype("category")
    return frame, y


@pytest.fixture(scope="module")
def fitted(penguins_with_noise):
    X, y = penguins_with_noise
    model = DropoutMLPClassifier(
        (32,), learning_rate_init=3e-3, max_iter=120, random_state=0, **LEARNED
    )
    return model.fit(X, y)


def test_relevance_on_a_real_table(penguins_with_noise, fitted):
    """Keyed by original column (categorical blocks mapped back); the noise
    columns are less relevant than the bill measurements."""
    X, y = penguins_with_noise
    result = dropout_relevance(fitted, X, y)
    frame = result.to_frame()
    assert list(frame.index) == list(X.columns)
    np.testing.assert_allclose(result.keep_probability + result.rate, 1.0)
    np.testing.assert_array_equal(result.rate, fitted.input_dropout_)
    keep = frame["keep_probability"]
    for noise in ("noise_a", "noise_b"):
        assert keep[noise] < keep["bill_length_mm"]
        assert keep[noise] < keep["bill_depth_mm"]
    assert result.loss_reference == "y"
    # Dropping a noise column barely changes the loss; dropping the bill
    # length changes it more.
    change = frame["loss_change"]
    assert change["bill_length_mm"] > abs(change["noise_a"])


def test_loss_change_without_labels_is_zero_for_no_change(penguins_with_noise, fitted):
    """Against the network's own predictions: a KL divergence, >= 0."""
    X, _ = penguins_with_noise
    result = dropout_relevance(fitted, X)
    assert result.loss_reference == "predictions"
    assert (result.loss_change >= -1e-12).all()


def test_loss_change_by_hand_for_a_regressor():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = DropoutMLPRegressor(
        (16,), max_iter=30, learning_rate_init=0.01, random_state=0, **LEARNED
    ).fit(X, y)
    result = dropout_relevance(model, X, y)
    base = np.mean((model.predict(X) - y) ** 2)
    dropped = X.copy()
    dropped[:, 2] = 0.0
    expected = np.mean((model.predict(dropped) - y) ** 2) - base
    assert result.loss_change[2] == pytest.approx(expected, rel=1e-10)
    assert list(result.feature_names) == [f"x{j}" for j in range(10)]


def test_relevance_through_a_pipeline():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    pipe = make_pipeline(
        StandardScaler().set_output(transform="pandas"),
        DropoutMLPRegressor((16,), max_iter=20, random_state=0, **LEARNED),
    ).fit(X, y)
    result = dropout_relevance(pipe, X, y)
    assert list(result.feature_names) == list(X.columns)
    assert np.isfinite(result.loss_change).all()


def test_relevance_needs_learned_input_rates():
    X, y = load_diabetes(return_X_y=True)
    model = DropoutMLPRegressor((8,), max_iter=5, input_dropout=0.1).fit(X, y)
    with pytest.raises(ValueError, match=r"input_dropout='learned', got.*0\.1"):
        dropout_relevance(model)
    learned = DropoutMLPRegressor((8,), max_iter=5, **LEARNED).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 columns but the network"):
        dropout_relevance(learned, X[:, :3], y)


def test_labels_outside_the_classes_are_named(penguins_with_noise, fitted):
    """Bad input 3: ints for a model fitted on strings scored every row 0.0."""
    X, y = penguins_with_noise
    codes = np.unique(y, return_inverse=True)[1]
    with pytest.raises(
        ValueError, match=r"not fitted on: \[0, 1, 2\]; its classes_ are \['Adelie'"
    ):
        dropout_relevance(fitted, X, codes)
    with pytest.raises(ValueError, match=rf"X has {len(X)} rows, y has shape"):
        dropout_relevance(fitted, X, y[:-1])


def test_regressor_targets_must_be_finite_and_as_long_as_X():
    """Bad input 4: a NaN gave all-NaN changes, a short y numpy's reshape error."""
    X, y = load_diabetes(return_X_y=True)
    model = DropoutMLPRegressor((8,), max_iter=5, random_state=0, **LEARNED).fit(X, y)
    bad = y.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"y must be finite, but row 7 holds \[nan\]"):
        dropout_relevance(model, X, bad)
    with pytest.raises(ValueError, match=r"y has 441 rows .* but X has 442 rows"):
        dropout_relevance(model, X, y[:-1])


def _ablation(means, scoring="accuracy"):
    means = np.asarray(means, dtype=float)
    return Bunch(
        importances_mean=means,
        importances_std=np.full_like(means, 0.01),
        importances_ci=np.c_[means - 0.02, means + 0.02],
        scoring=scoring,
    )


def test_display_marks_disagreements():
    relevance = Bunch(
        feature_names=np.array(["a", "b", "c", "d", "e"], dtype=object),
        keep_probability=np.array([0.9, 0.8, 0.7, 0.6, 0.5]),
    )
    # "e" is least relevant by dropout but most important by ablation.
    display = DropoutRelevanceDisplay.from_results(
        relevance, _ablation([0.4, 0.3, 0.2, 0.1, 0.5])
    )
    assert display.disagreements_ == ["e"]
    assert len(display.points_.get_offsets()) == 5
    assert display.rank_correlation_ == pytest.approx(0.0)
    texts = [t.get_text() for t in display.ax_.texts]
    assert texts == ["a", "b", "c", "d", "e"]
    agreeing = DropoutRelevanceDisplay.from_results(
        relevance, _ablation([0.5, 0.4, 0.3, 0.2, 0.1])
    )
    assert agreeing.disagreements_ == []
    assert agreeing.rank_correlation_ == pytest.approx(1.0)
    plt.close("all")


def test_display_rejects_mismatched_results():
    relevance = Bunch(
        feature_names=np.array(["a", "b"], dtype=object),
        keep_probability=np.array([0.9, 0.8]),
    )
    with pytest.raises(ValueError, match="relevance has 2 features but ablation"):
        DropoutRelevanceDisplay.from_results(relevance, _ablation([0.1, 0.2, 0.3]))


def test_display_from_estimator_on_a_real_table(penguins_with_noise, fitted):
    X, y = penguins_with_noise
    display = DropoutRelevanceDisplay.from_estimator(
        fitted.set_params(max_iter=40), X, y, cv=3, random_state=0
    )
    assert len(display.points_.get_offsets()) == X.shape[1]
    assert -1.0 <= display.rank_correlation_ <= 1.0
    assert display.ax_.get_xlabel().startswith("learned keep probability")
    plt.close("all")


def test_what_ablation_finds_important_is_relevant(penguins_with_noise, fitted):
    """The features whose drop-column importance is distinguishable from 0
    on penguins rank in the top half of the learned relevance."""
    X, y = penguins_with_noise
    ablation = ablation_importance(
        DropoutMLPClassifier(
            (32,), learning_rate_init=3e-3, max_iter=60, random_state=0, **LEARNED
        ),
        X,
        y,
        cv=3,
        random_state=0,
    )
    relevance = dropout_relevance(fitted)
    important = np.flatnonzero(
        ablation.distinguishable & (ablation.importances_mean > 0)
    )
    assert important.size
    median = np.median(relevance.keep_probability)
    assert (relevance.keep_probability[important] > median).all()


def test_display_matches_prefixed_and_reordered_names():
    """A ColumnTransformer reorders and prefixes the columns: the display
    pairs them by name, never silently by position."""
    relevance = Bunch(
        feature_names=np.array(["s__b", "s__c", "p__a"], dtype=object),
        keep_probability=np.array([0.5, 0.6, 0.9]),
    )
    ablation = _ablation([0.3, 0.0, 0.1])
    ablation.feature_names = np.array(["a", "b", "c"], dtype=object)
    display = DropoutRelevanceDisplay.from_results(relevance, ablation)
    np.testing.assert_allclose(display.points_.get_offsets()[:, 0], [0.9, 0.5, 0.6])
    assert display.rank_correlation_ == pytest.approx(1.0)
    ablation.feature_names = np.array(["a", "b", "z"], dtype=object)
    with pytest.raises(ValueError, match="name different features"):
        DropoutRelevanceDisplay.from_results(relevance, ablation)
    plt.close("all")


def test_relevance_rejects_multilabel_and_other_estimators():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(60, 4, random_state=0)
    model = DropoutMLPClassifier((8,), max_iter=3, **LEARNED).fit(X, Y)
    with pytest.raises(ValueError, match="multilabel"):
        dropout_relevance(model, X, Y)
    X, y = load_diabetes(return_X_y=True)
    wrapped = TransformedTargetRegressor(
        DropoutMLPRegressor((8,), max_iter=3, **LEARNED)
    ).fit(X, y)
    with pytest.raises(ValueError, match="pass its fitted regressor_"):
        dropout_relevance(wrapped)
    assert dropout_relevance(wrapped.regressor_).rate.shape == (10,)
