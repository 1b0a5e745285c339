"""Seeded real data shared by the tests."""

from __future__ import annotations

import os
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import settings
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.preprocessing import StandardScaler

# Hypothesis profiles for the property tests (tests/test_properties.py).
# "ci", the default, is reproducible (derandomize) and sized so that all the
# property tests take well under a minute; SKDROP_HYPOTHESIS_PROFILE=long runs
# 15x the examples with fresh random draws, to hunt for new failures.  The
# deadline catches an example that got slow (a hang in the making) while
# leaving room for a busy, shared machine; the sizes themselves are bounded.
settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=timedelta(seconds=10),
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=2250,
    deadline=timedelta(seconds=30),
    print_blob=True,
)
settings.load_profile(os.environ.get("SKDROP_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def diabetes():
    """Diabetes data: its features are mean-centered and scaled."""
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="session")
def cancer_regression():
    """Breast-cancer features (positive, far from centered) predicting the
    first one: a real design where centered and uncentered moments differ."""
    X, _ = load_breast_cancer(return_X_y=True)
    return X[:, 1:], X[:, 0]


@pytest.fixture(scope="session")
def diabetes_one_hot():
    """Raw diabetes data with sex and age quartile one-hot encoded (0/1
    columns) and the other features standardized; returns X, y, groups."""
    df, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    sex = pd.get_dummies(df["sex"].astype(int), prefix="sex", dtype=float)
    age_bins = pd.qcut(df["age"], 4, labels=False)
    age = pd.get_dummies(age_bins, prefix="age", dtype=float)
    numeric = df.drop(columns=["sex", "age"])
    numeric = (numeric - numeric.mean()) / numeric.std(ddof=0)
    X = pd.concat([sex, age, numeric], axis=1)
    groups = [list(sex.columns), list(age.columns)]
    return X, y.to_numpy(), groups


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny tensors gain nothing from threads, and with pytest-xdist workers
    sharing the cores, oversubscribed torch threads slow tests ~20x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def wine():
    """Wine classes on standardized features."""
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def diabetes_scaled():
    """Diabetes with standardized features and target."""
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
