"""predictive_uncertainty: the entropy decomposition by hand, on a stub, and
on a real network."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from skdrop import DropoutMLPClassifier
from skdrop.inspection import predictive_uncertainty


class _Passes(ClassifierMixin, BaseEstimator):
    """Returns fixed Monte Carlo passes, whatever X."""

    def __init__(self, passes=None):
        self.passes = passes

    def fit(self, X=None, y=None):
        self.classes_ = np.arange(np.asarray(self.passes).shape[2])
        return self

    def mc_predict(self, X, n_samples=50, random_state=None):
        return np.asarray(self.passes)


def test_decomposition_by_hand():
    # Row 0: two confident passes that disagree -> all uncertainty is
    # disagreement.  Row 1: two identical 50/50 passes -> none is.
    passes = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]])
    u = predictive_uncertainty(_Passes(passes).fit(), np.zeros((2, 1)), n_samples=2)
    np.testing.assert_allclose(u.predictive_entropy, [np.log(2), np.log(2)])
    np.testing.assert_allclose(u.expected_entropy, [0.0, np.log(2)])
    np.testing.assert_allclose(u.mutual_information, [np.log(2), 0.0], atol=1e-15)
    np.testing.assert_allclose(u.proba, [[0.5, 0.5], [0.5, 0.5]])
    assert list(u.to_frame().columns) == [
        "predictive_entropy",
        "expected_entropy",
        "mutual_information",
    ]


def test_three_classes_by_hand():
    p1, p2 = np.array([0.7, 0.2, 0.1]), np.array([0.1, 0.3, 0.6])
    passes = np.stack([p1, p2])[:, None, :]
    u = predictive_uncertainty(_Passes(passes).fit(), np.zeros((1, 1)), n_samples=2)

    def H(p):
        return -np.sum(p * np.log(p))

    assert u.predictive_entropy[0] == pytest.approx(H((p1 + p2) / 2), rel=1e-12)
    assert u.expected_entropy[0] == pytest.approx((H(p1) + H(p2)) / 2, rel=1e-12)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_a_network_with_dropout(iris):
    X, y = iris
    clf = DropoutMLPClassifier(
        hidden_layer_sizes=(32,), hidden_dropout=0.3, max_iter=100, random_state=0
    ).fit(X, y)
    u = predictive_uncertainty(clf, X, n_samples=30, random_state=0)
    assert (u.mutual_information >= 0).all()
    assert (u.mutual_information > 0).any()
    np.testing.assert_allclose(
        u.predictive_entropy, u.expected_entropy + u.mutual_information, atol=1e-12
    )
    # The same seed gives the same passes
    again = predictive_uncertainty(clf, X, n_samples=30, random_state=0)
    np.testing.assert_array_equal(again.mutual_information, u.mutual_information)


def test_without_dropout_the_passes_agree(iris):
    X, y = iris
    clf = DropoutMLPClassifier(
        hidden_layer_sizes=(16,),
        input_dropout=0.0,
        hidden_dropout=0.0,
        max_iter=50,
        random_state=0,
    ).fit(X, y)
    u = predictive_uncertainty(clf, X[:10], n_samples=5, random_state=0)
    np.testing.assert_allclose(u.mutual_information, 0.0, atol=1e-7)


def test_bad_input(iris):
    X, y = iris
    with pytest.raises(TypeError, match="needs a classifier with mc_predict"):
        predictive_uncertainty(LogisticRegression().fit(X, y), X)
    with pytest.raises(ValueError, match="n_samples must be >= 1, got 0"):
        predictive_uncertainty(_Passes(np.ones((1, 1, 1))).fit(), X, n_samples=0)
    with pytest.raises(TypeError, match="n_samples must be an int"):
        predictive_uncertainty(_Passes(np.ones((1, 1, 1))).fit(), X, n_samples=2.5)
    multilabel = np.full((2, 3, 2), 0.9)
    with pytest.raises(ValueError, match="single-label"):
        predictive_uncertainty(_Passes(multilabel).fit(), X[:3], n_samples=2)
