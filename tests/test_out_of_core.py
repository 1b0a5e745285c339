"""Streaming a Parquet file into ``partial_fit`` trains what memory would."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPClassifier, DropoutMLPRegressor

N_ROWS, N_FEATURES = 1200, 5
ROWS_PER_GROUP = 300  # four row groups
CHUNK = 200  # rows per partial_fit call: chunks straddle the row groups
PARAMS = dict(
    hidden_layer_sizes=(16, 8),
    input_dropout=0.1,
    hidden_dropout=0.3,
    batch_size=50,  # divides CHUNK: every chunk is four whole mini-batches
    learning_rate_init=0.01,
    random_state=0,
)


def _data(rng, classify):
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype(np.float32)
    signal = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    if not classify:
        return X, (signal + 0.1 * rng.normal(size=N_ROWS)).astype(np.float32)
    y = np.array(["a", "b", "c"])[np.digitize(signal, [-0.5, 0.5])]
    # The first chunk lacks "c": only classes= tells the first call about it.
    y[:CHUNK] = np.where(y[:CHUNK] == "c", "b", y[:CHUNK])
    return X, y


def _write(path, X, y):
    """Write X and y one row group at a time."""
    names = [f"x{j}" for j in range(X.shape[1])]
    target = pa.array(y[:0]).type
    schema = pa.schema([*[(n, pa.float32()) for n in names], ("y", target)])
    with pq.ParquetWriter(path, schema, use_dictionary=False) as writer:
        for start in range(0, len(X), ROWS_PER_GROUP):
            rows = slice(start, start + ROWS_PER_GROUP)
            columns = [pa.array(X[rows, j]) for j in range(X.shape[1])]
            writer.write_table(
                pa.Table.from_arrays([*columns, pa.array(y[rows])], schema=schema)
            )
    return names


def _stream(path, names):
    """Yield ``(X, y)`` chunks of CHUNK rows from the file."""
    parquet = pq.ParquetFile(path, pre_buffer=False)
    try:
        for batch in parquet.iter_batches(batch_size=CHUNK):
            X = np.column_stack([batch.column(n).to_numpy() for n in names])
            yield X, batch.column("y").to_numpy(zero_copy_only=False)
    finally:
        parquet.close()


def _assert_same(a, b, X):
    for left, right in zip(
        a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(left, right)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def _diabetes():
    """Real data: the first 400 rows of the diabetes data (two chunks),
    standardized, in float32."""
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:400], y[:400]
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, ((y - y.mean()) / y.std()).astype(np.float32)


@pytest.fixture(params=["regressor", "classifier", "diabetes"])
def case(request, tmp_path, rng):
    classify = request.param == "classifier"
    X, y = _diabetes() if request.param == "diabetes" else _data(rng, classify)
    path = tmp_path / "data.parquet"
    names = _write(path, X, y)
    n_groups = -(-len(X) // ROWS_PER_GROUP)
    assert pq.ParquetFile(path).metadata.num_row_groups == n_groups
    kwargs = {"classes": np.unique(y)} if classify else {}
    Estimator = DropoutMLPClassifier if classify else DropoutMLPRegressor
    return Estimator, X, y, path, names, kwargs


def test_streamed_equals_in_memory_chunks(case):
    """(a) Parquet chunks and in-memory slices give the same model, bitwise,
    over two passes with shuffling (within chunks) and dropout on."""
    Estimator, X, y, path, names, kwargs = case
    n_rows = len(X)
    streamed, in_memory = Estimator(**PARAMS), Estimator(**PARAMS)
    n_passes, sizes = 2, []
    for _ in range(n_passes):
        for X_chunk, y_chunk in _stream(path, names):
            sizes.append(len(X_chunk))
            streamed.partial_fit(X_chunk, y_chunk, **kwargs)
        for start in range(0, n_rows, CHUNK):
            rows = slice(start, start + CHUNK)
            in_memory.partial_fit(X[rows], y[rows], **kwargs)
    assert sizes == [CHUNK] * (n_passes * n_rows // CHUNK)
    _assert_same(streamed, in_memory, X)
    assert streamed.loss_curve_ == in_memory.loss_curve_

    # One entry of loss_curve_ per call; t_ counts every row streamed;
    # n_iter_ is the last call's one epoch, as in scikit-learn.
    n_calls = n_passes * n_rows // CHUNK
    assert len(streamed.loss_curve_) == n_calls and streamed.n_iter_ == 1
    assert streamed.t_ == n_passes * n_rows
    assert streamed.best_loss_ == min(streamed.loss_curve_)
    assert np.all(np.isfinite(streamed.loss_curve_))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_streamed_equals_one_epoch_of_fit(case):
    """(b) Without shuffling, one pass of partial_fit over the chunks is one
    epoch of fit: the same mini-batches in the same order, the same masks
    (one stream continued across calls) and the same Adam steps."""
    Estimator, X, y, path, names, kwargs = case
    n_rows = len(X)
    params = {**PARAMS, "shuffle": False}
    if Estimator is DropoutMLPRegressor:
        # The first chunk defines partial_fit's target scaling, all the rows
        # fit's: compare the training on one and the same target.
        params["target_scaling"] = None
    streamed = Estimator(**params)
    for X_chunk, y_chunk in _stream(path, names):
        streamed.partial_fit(X_chunk, y_chunk, **kwargs)
    with pytest.warns(ConvergenceWarning):
        fitted = Estimator(**params, max_iter=1).fit(X, y)
    _assert_same(streamed, fitted, X)

    # Only the bookkeeping differs: an entry per call against one per epoch.
    assert streamed.t_ == fitted.t_ == n_rows
    assert (streamed.n_iter_, fitted.n_iter_) == (1, 1)
    assert len(streamed.loss_curve_) == n_rows // CHUNK
    # Equal chunks: the epoch's loss is the mean of the chunks' losses, up to
    # the float32 sums behind each.
    np.testing.assert_allclose(
        np.mean(streamed.loss_curve_), fitted.loss_curve_[0], rtol=1e-5
    )
