"""Shared input checks in skdrop.utils._validation."""

from __future__ import annotations

import numpy as np
import pytest

from skdrop.utils._validation import (
    atomic_fit,
    check_dropout_grid,
    group_labels,
    resolve_feature_groups,
    seed_from_random_state,
)


def test_groups_default_to_singletons():
    groups = resolve_feature_groups(None, 3, None)
    assert [g.tolist() for g in groups] == [[0], [1], [2]]


def test_groups_fill_in_ungrouped_columns_and_label():
    names = np.array(["a", "b", "c", "d"], dtype=object)
    groups = resolve_feature_groups([["d", "b"]], 4, names)
    assert sorted(sorted(g.tolist()) for g in groups) == [[0], [1, 3], [2]]
    labels = group_labels(groups, 4)
    assert labels[1] == labels[3] and len(set(labels.tolist())) == 3


@pytest.mark.parametrize(
    "groups, match",
    [
        ("ab", "must be a list"),
        ([3], r"feature_groups\[0\] must be a list of column indices or names"),
        ([[1.5]], "must hold column indices"),
        ([[-1]], "out of range"),
    ],
)
def test_bad_groups(groups, match):
    with pytest.raises(ValueError, match=match):
        resolve_feature_groups(groups, 3, None)


def test_seed_from_random_state():
    assert seed_from_random_state(5) == 5
    state = np.random.RandomState(0)
    a = seed_from_random_state(state)
    assert a != seed_from_random_state(state)  # advanced, like scikit-learn
    # A generator's seed is a function of its state: the same state gives the
    # same seed, each call advances it, and another state gives another seed.
    assert seed_from_random_state(np.random.RandomState(0)) == a
    for make in (np.random.RandomState, np.random.default_rng):
        first = seed_from_random_state(make(0))
        assert first == seed_from_random_state(make(0))
        generator = make(0)
        draws = [seed_from_random_state(generator) for _ in range(3)]
        assert draws[0] == first and len(set(draws)) == 3
        assert seed_from_random_state(make(1)) != first
    # Every seed is a non-negative 63-bit int, also for ints outside that range.
    seeds = [
        seed_from_random_state(np.random.default_rng(0)),
        seed_from_random_state(-1),
        seed_from_random_state(2**64 + 3),
        seed_from_random_state(None),
    ]
    assert all(type(s) is int and 0 <= s < 2**63 for s in seeds)
    before = np.random.get_state()[1].copy()
    fresh = {seed_from_random_state(None) for _ in range(3)}
    assert len(fresh) == 3  # fresh entropy each call, not a constant
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    with pytest.raises(ValueError, match="random_state must be"):
        seed_from_random_state("seed")


def test_dropout_grid():
    np.testing.assert_array_equal(check_dropout_grid([0, 0.5]), [0.0, 0.5])
    with pytest.raises(ValueError, match="non-empty 1-d"):
        check_dropout_grid([["a"]])
    with pytest.raises(ValueError, match=r"got nan"):
        check_dropout_grid([0.1, float("nan")])


def test_atomic_fit_restores_state():
    class Model:
        @atomic_fit
        def fit(self, fail):
            self.coef_ = "new"
            self.extra_ = 1
            if fail:
                raise RuntimeError("boom")
            return self

    m = Model()
    m.coef_ = "old"
    with pytest.raises(RuntimeError):
        m.fit(True)
    assert m.__dict__ == {"coef_": "old"}
    assert m.fit(False).coef_ == "new"
