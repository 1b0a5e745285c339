"""Categorical columns: encoding, group masks, unseen levels, Pipelines."""

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
)
from skdrop._engine._layers import NoiseSite

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def penguins():
    df = load_penguins()
    return df.drop(columns="species"), df["species"]


def numeric_prep():
    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    return make_column_transformer(
        (numeric, make_column_selector(dtype_include="number")),
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def test_penguins_pipeline_grid_search(penguins):
    X, y = penguins
    pipe = make_pipeline(
        numeric_prep(), DropoutMLPClassifier(**FAST, learning_rate_init=0.01)
    )
    search = GridSearchCV(
        pipe, {"dropoutmlpclassifier__input_dropout": [0.0, 0.3]}, cv=2
    ).fit(X, y)
    model = search.best_estimator_[-1]
    assert search.best_score_ > 0.8
    assert list(model.feature_names_in_[-2:]) == ["island", "sex"]
    assert model.categories_["island"] == ["Biscoe", "Dream", "Torgersen"]
    assert model.categories_["sex"] == ["female", "male"]
    # One group per original feature; the categorical ones are blocks.
    widths = [len(g) for g in model.feature_groups_]
    assert widths == [1, 1, 1, 1, 1, 3, 2]


def test_engine_draws_one_mask_per_row_and_feature(penguins, monkeypatch):
    X, y = penguins
    drawn = []
    original = NoiseSite.sample_scaled

    def recording(self, rows, cols, noise, dtype):
        out = original(self, rows, cols, noise, dtype)
        if self.group_index is not None:
            drawn.append(out[0].clone())
        return out

    monkeypatch.setattr(NoiseSite, "sample_scaled", recording)
    pipe = make_pipeline(
        numeric_prep(),
        DropoutMLPClassifier(**{**FAST, "max_iter": 2}, input_dropout=0.5),
    ).fit(X, y)
    model = pipe[-1]
    assert drawn, "the input site never drew a group mask"
    masks = np.concatenate([m.numpy() for m in drawn])
    for block in model.feature_groups_:
        cols = masks[:, block]
        assert (cols == cols[:, :1]).all()  # the whole block shares a draw
    # Different features draw independently, at the input-dropout rate.
    first = [g[0] for g in model.feature_groups_]
    rate = 1 - masks[:, first].mean()
    assert abs(rate - 0.5) < 5 * np.sqrt(0.25 / masks[:, first].size)
    assert not (masks[:, first] == masks[:, first[:1]]).all()


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutLinearRegression])
def test_unseen_and_missing_categories_are_a_dropped_group(penguins, Estimator):
    X, y = penguins
    X = X.dropna()
    y = y.loc[X.index]
    if Estimator is DropoutLinearRegression:
        target = X["body_mass_g"]
        X = X.drop(columns="body_mass_g")
        model = Estimator(input_dropout=0.3).fit(X, target)
        predict = model.predict
    else:
        model = Estimator(**FAST, input_dropout=0.2).fit(X, y)
        predict = model.predict_proba
    rows = X.head(4).copy()
    unseen = rows.assign(island=["Atlantis", "Mu", "Atlantis", "Mu"])
    missing = rows.assign(island=[None, np.nan, None, np.nan])
    np.testing.assert_allclose(predict(unseen), predict(missing))
    # ... and equal to the known rows with the island block zeroed, as a
    # dropped group presents it.
    encoded = model._encoder.transform(rows)
    block = model.feature_groups_[list(X.columns).index("island")]
    encoded[:, block] = 0.0
    if Estimator is DropoutLinearRegression:
        expected = encoded @ model.coef_ + model.intercept_
    else:
        from scipy.special import softmax

        from skdrop._engine import predict_raw

        expected = softmax(predict_raw(model.module_, encoded), axis=1)
    np.testing.assert_allclose(predict(unseen), expected, rtol=1e-5, atol=1e-6)


def test_linear_groups_of_raw_one_hot_equal_elementwise(penguins):
    """The identity of the foundation issue, through categorical_features."""
    X, _ = penguins
    X = X.dropna()
    y = X["body_mass_g"]
    X = X.drop(columns="body_mass_g")
    grouped = DropoutLinearRegression(input_dropout=0.4).fit(X, y)
    encoded = grouped._encoder.transform(X)
    elementwise = DropoutLinearRegression(input_dropout=0.4).fit(encoded, y)
    np.testing.assert_allclose(grouped.coef_, elementwise.coef_, rtol=1e-8)
    cv = DropoutLinearRegressionCV(input_dropouts=[0.1, 0.4]).fit(X, y)
    assert cv.coef_.shape == grouped.coef_.shape
    assert cv.categories_["sex"] == ["female", "male"]


def test_mlp_group_and_elementwise_noise_differ(penguins):
    X, y = penguins
    X = X.dropna()
    y = y.loc[X.index]
    grouped = DropoutMLPClassifier(**FAST, input_dropout=0.5).fit(X, y)
    encoded = grouped._encoder.transform(X)
    elementwise = DropoutMLPClassifier(**FAST, input_dropout=0.5).fit(encoded, y)
    assert grouped.module_.sites[0].group_index is not None
    assert elementwise.module_.sites[0].group_index is None
    assert not np.allclose(grouped.coefs_[0], elementwise.coefs_[0])


def test_numeric_missing_values_suggest_an_imputer(penguins):
    X, y = penguins
    with pytest.raises(ValueError, match="SimpleImputer"):
        DropoutMLPClassifier(**FAST).fit(X, y)


def test_max_categories_pools_rare_levels():
    rng = np.random.default_rng(0)
    levels = np.array(list("abcdefgh"))
    column = levels[np.minimum(rng.geometric(0.4, 400) - 1, 7)]
    X = pd.DataFrame({"c": pd.Categorical(column), "x": rng.normal(size=400)})
    y = (column == "a") + X["x"].to_numpy()
    model = DropoutLinearRegression(max_categories=3).fit(X, y)
    assert model.categories_["c"] == ["a", "b", "infrequent"]
    assert [len(g) for g in model.feature_groups_] == [3, 1]
    encoded = model._encoder.transform(X.head(6))
    np.testing.assert_array_equal(encoded[:, :3].sum(axis=1), 1.0)


def test_too_many_levels_is_a_clear_error():
    X = pd.DataFrame({"id": [f"user{i}" for i in range(10_001)]})
    with pytest.raises(ValueError, match=r"limit of 10000.*max_categories"):
        DropoutLinearRegression().fit(X, np.zeros(len(X)))


@pytest.mark.parametrize(
    ("categorical_features", "message"),
    [
        (["nope"], "unknown column 'nope'"),
        ([7], "out of range"),
        ([True, False], "boolean mask has 2 entries"),
        ("all", "categorical_features. parameter"),
    ],
)
def test_bad_categorical_features(categorical_features, message):
    X = pd.DataFrame({"a": ["x", "y"] * 5, "b": np.arange(10.0), "c": 1.0})
    model = DropoutMLPRegressor(**FAST, categorical_features=categorical_features)
    with pytest.raises(ValueError, match=message):
        model.fit(X, np.arange(10.0))


def test_explicit_categorical_columns_on_arrays():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.integers(0, 3, 60), rng.normal(size=60)])
    y = X[:, 0] * 2 + X[:, 1]
    model = DropoutLinearRegression(categorical_features=[0], input_dropout=0.1)
    model.fit(X, y)
    assert model.categories_[0] == [0.0, 1.0, 2.0]  # the levels themselves
    assert model.coef_.shape == (4,)
    with pytest.raises(ValueError, match="column names"):
        DropoutLinearRegression(categorical_features=["a"]).fit(X, y)


def encoded_prep(verbose_names, drop=None):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(drop=drop, sparse_output=False, handle_unknown="ignore"),
    )
    return ColumnTransformer(
        [
            ("num", numeric, make_column_selector(dtype_include="number")),
            ("cat", categorical, ["island", "sex"]),
        ],
        verbose_feature_names_out=verbose_names,
    ).set_output(transform="pandas")


@pytest.mark.parametrize("verbose_names", [True, False])
@pytest.mark.parametrize("drop", [None, "if_binary"])
def test_from_names_recovers_one_hot_groups(penguins, verbose_names, drop):
    from skdrop import one_hot_groups

    X, y = penguins
    prep = encoded_prep(verbose_names, drop).fit(X)
    Xt = prep.transform(X)
    expected = one_hot_groups(prep)
    assert sorted(len(g) for g in expected if len(g) > 1) == (
        [2, 3] if drop is None else [3]
    )
    by_names = DropoutMLPClassifier(**FAST, feature_groups="from_names").fit(Xt, y)
    by_transformer = DropoutMLPClassifier(**FAST, feature_groups=expected).fit(Xt, y)
    as_sets = {tuple(g) for g in by_names.feature_groups_}
    assert as_sets == {tuple(g) for g in by_transformer.feature_groups_}
    assert as_sets == {tuple(g) for g in expected}
    # The whole Pipeline works without hand-written indices.
    pipe = make_pipeline(
        encoded_prep(verbose_names, drop),
        DropoutLinearRegression(feature_groups="from_names"),
    )
    pipe.fit(X, y == "Adelie")
    assert pipe.predict(X.head(3)).shape == (3,)


def test_one_hot_groups_of_an_encoder_alone():
    from sklearn.preprocessing import OneHotEncoder

    from skdrop import one_hot_groups

    enc = OneHotEncoder(max_categories=2).fit(
        pd.DataFrame({"a": list("xxyz"), "b": list("pqpq")})
    )
    assert one_hot_groups(enc) == [[0, 1], [2, 3]]
    with pytest.raises(TypeError, match="OneHotEncoder"):
        one_hot_groups(StandardScaler().fit([[1.0]]))


def test_from_names_says_when_it_cannot_tell():
    X = pd.DataFrame(
        {
            "num__a": [0.1, 0.5, 0.3, 0.9],
            "num__b": [1.0, 2.0, 3.0, 4.0],
        }
    )
    with pytest.raises(ValueError, match="found no one-hot block"):
        DropoutLinearRegression(feature_groups="from_names").fit(X, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="needs a pandas DataFrame"):
        DropoutLinearRegression(feature_groups="from_names").fit(
            X.to_numpy(), [1, 2, 3, 4]
        )
    # Numeric columns sharing a prefix are not mistaken for a block.
    X2 = pd.DataFrame(
        {
            "num__bill_length": [0.3, 1.2, 2.0, 0.1],
            "num__bill_depth": [1.5, 0.2, 0.7, 2.2],
            "cat__island_A": [1.0, 0.0, 0.0, 1.0],
            "cat__island_B": [0.0, 1.0, 1.0, 0.0],
        }
    )
    model = DropoutLinearRegression(feature_groups="from_names").fit(X2, [1, 2, 3, 4])
    assert [list(g) for g in model.feature_groups_] == [[0], [1], [2, 3]]


# --- the OneHotEncoder-based encoding -----------------------------------------


def test_the_number_1_and_the_string_1_are_different_levels():
    rng = np.random.default_rng(2)
    codes = rng.integers(1, 3, 40)
    X = pd.DataFrame({"s": codes.astype(str).astype(object), "n": codes})
    y = codes + rng.normal(size=40)
    model = DropoutLinearRegression(categorical_features=["s", "n"]).fit(X, y)
    assert model.categories_ == {"s": ["1", "2"], "n": [1, 2]}
    assert [type(v) for v in model.categories_["n"]] == [int, int]
    assert [len(g) for g in model.feature_groups_] == [2, 2]
    # One column holding both is refused rather than merged.
    mixed = X.assign(s=X["s"].where(codes == 1, 2))
    with pytest.raises(ValueError, match=r"column 's' mixes value types \(int, str\)"):
        DropoutLinearRegression().fit(mixed, y)
    # The number 1 is not the level "1": a column of other type is refused.
    with pytest.raises(ValueError, match="held string values in fit but holds number"):
        model.predict(X.assign(s=codes))
    # Numbers are numbers: 1.0 is the level 1.
    np.testing.assert_allclose(
        model.predict(X.assign(n=codes.astype(float))), model.predict(X)
    )


@pytest.mark.parametrize("dtype", [object, "string", "category"])
@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_every_missing_value_encodes_to_an_all_zero_block(dtype, missing):
    levels = pd.Series(["a", "b", missing, "a", "c", missing], dtype=object)
    X = pd.DataFrame({"c": levels.astype(dtype), "x": np.arange(6.0)})
    model = DropoutLinearRegression().fit(X, np.arange(6.0))
    assert model.categories_["c"] == ["a", "b", "c"]  # missing is no level
    encoded = model._encoder.transform(X)
    np.testing.assert_array_equal(encoded[:, :3].sum(axis=1), [1, 1, 0, 1, 1, 0])
    np.testing.assert_array_equal(encoded[:, 3], np.arange(6.0))


def test_unseen_levels_stay_zero_when_rare_ones_are_pooled():
    X = pd.DataFrame({"c": list("aaabbbccd")})
    model = DropoutLinearRegression(max_categories=3).fit(X, np.arange(9.0))
    assert model.categories_["c"] == ["a", "b", "infrequent"]
    encoded = model._encoder.transform(pd.DataFrame({"c": ["d", "zzz", "b"]}))
    np.testing.assert_array_equal(encoded, [[0, 0, 1], [0, 0, 0], [0, 1, 0]])


def wide_table(n_rows, n_levels, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.array([f"id{k}" for k in range(n_levels)], dtype=object)
    column = ids[np.r_[np.arange(n_levels), rng.integers(0, n_levels, n_rows)]]
    return pd.DataFrame({"id": column[:n_rows], "x": rng.normal(size=n_rows)})


def test_wide_encoding_is_float32_or_sparse_without_a_float64_copy():
    import tracemalloc

    from skdrop.utils._categorical import validate_X

    X = wide_table(4000, 1000)
    model = DropoutLinearRegression().fit(X, np.arange(4000.0))
    tracemalloc.start()
    dense = validate_X(model, X, reset=False, dtype=(np.float64, np.float32))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert dense.dtype == np.float32 and dense.shape == (4000, 1001)
    # One float32 array of the output's size, not a float64 one besides it.
    assert peak < 1.25 * dense.nbytes
    csr = validate_X(model, X, reset=False, dtype=np.float64, accept_sparse="csr")
    assert csr.format == "csr" and csr.nnz == 2 * 4000
    dense64 = validate_X(model, X, reset=False, dtype=np.float64)
    assert dense64.dtype == np.float64
    np.testing.assert_array_equal(csr.toarray(), dense64)
    np.testing.assert_array_equal(dense, dense64.astype(np.float32))


def test_numeric_values_beyond_float32_are_still_named_by_the_network():
    X = pd.DataFrame({"c": list("ab") * 5, "x": [1e39] + [0.0] * 9})
    with pytest.raises(ValueError, match=r"X has a value of magnitude 1e\+39"):
        DropoutMLPRegressor(**FAST).fit(X, np.arange(10.0))
