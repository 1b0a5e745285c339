"""
===================================
Training on data larger than memory
===================================

``partial_fit`` of :class:`~skdrop.DropoutMLPRegressor` (and of
:class:`~skdrop.DropoutMLPClassifier`) runs one epoch over the rows it is
given and carries the optimizer state and the dropout mask and shuffling
streams over to the next call.  A table that does not fit in memory can
therefore be streamed through it chunk by chunk, as many times as needed.

This example

1. writes a synthetic regression table to a file, one block of rows at a
   time, so that the whole table is never in memory,
2. fits a :class:`~sklearn.preprocessing.StandardScaler` by streaming over
   the file once,
3. streams the file into ``partial_fit`` and scores a held-out part of the
   file, streamed too, every few hundred thousand rows, and
4. measures the peak resident memory of the process while it trains and
   compares it with the size of the data.

See :ref:`out_of_core` in the user guide.
"""

# %%
# Sizes, file format, and how the memory is measured
# --------------------------------------------------
# By default the table has 2.2 million rows of 24 float32 features and a
# float32 target: 220 MB on disk, written to a temporary folder and deleted
# at the end, in under a minute.  That is less data than the process itself
# holds, so the ratios printed below are far from what streaming saves on a
# large file.  ``SKDROP_EXAMPLE_SIZE=full`` writes 70 million rows (7.0 GB,
# 6.5 GiB of free disk needed) and trains for about four minutes: the figures
# of that run are on the :ref:`benchmarks` page.  ``SKDROP_EXAMPLE_SIZE=test``
# (the test suite) uses a few thousand rows.
#
# The file is plain float32 rows, read with :func:`numpy.fromfile` one block
# of rows at a time, so the example needs nothing beyond numpy.
# ``SKDROP_OUT_OF_CORE_FORMAT=parquet`` writes and streams a Parquet file
# with pyarrow instead, as the user guide's recipe does; the training loop is
# the same.
#
# The resident set size (RSS) of the process is read from
# ``/proc/self/status`` on Linux: ``VmRSS`` is the current value and
# ``VmHWM`` its peak, which writing ``5`` to ``/proc/self/clear_refs`` resets
# to the current value, so the peak of one phase can be measured on its own.
# Elsewhere the peak falls back to ``ru_maxrss`` of :func:`resource.getrusage`,
# which cannot be reset: it is then the peak of the whole process so far, an
# upper bound of the training's peak.
import os
import shutil
import sys
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPRegressor

try:
    import resource
except ImportError:  # Windows
    resource = None

SIZE = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs")
SIZES = {  # rows per block (Parquet row group), blocks used for training,
    # held-out blocks at the end of the file, rows per partial_fit call,
    # epochs over the training rows, partial_fit calls between held-out scores
    "full": (100_000, 690, 10, 50_000, 1, 138),
    "docs": (100_000, 20, 2, 50_000, 1, 8),
    "test": (1_000, 4, 1, 500, 2, 4),
}
if SIZE not in SIZES:
    raise ValueError(f"SKDROP_EXAMPLE_SIZE must be one of {list(SIZES)}, got {SIZE!r}")
ROWS_PER_GROUP, TRAIN_GROUPS, TEST_GROUPS, CHUNK, PASSES, SCORE_EVERY = SIZES[SIZE]
FORMAT = os.environ.get("SKDROP_OUT_OF_CORE_FORMAT", "binary")
if FORMAT not in ("binary", "parquet"):
    raise ValueError(
        f"SKDROP_OUT_OF_CORE_FORMAT must be 'binary' or 'parquet', got {FORMAT!r}"
    )
if FORMAT == "parquet":
    import pyarrow as pa
    import pyarrow.parquet as pq
FAST = SIZE == "test"
N_FEATURES = 24  # 5 informative columns and 19 of noise
NOISE = 1.0  # standard deviation of the noise added to the target
FEATURES = [f"x{j}" for j in range(N_FEATURES)]
N_COLUMNS = N_FEATURES + 1  # the target is the last column


def _status_kib(key):
    """A ``Vm...`` line of /proc/self/status in KiB, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss():
    """Resident memory now, in bytes (NaN where it cannot be read)."""
    kib = _status_kib("VmRSS")
    return float("nan") if kib is None else kib * 1024.0


def peak_rss():
    """Peak resident memory since the last :func:`reset_peak`, in bytes."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib * 1024.0
    if resource is None:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak) if sys.platform == "darwin" else peak * 1024.0


def reset_peak():
    """Reset the peak to the current RSS; False where the OS cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def size(n_bytes):
    """A number of bytes in KiB, MiB or GiB."""
    for unit, power in [("GiB", 30), ("MiB", 20)]:
        if n_bytes >= 2**power:
            return f"{n_bytes / 2**power:.{2 if unit == 'GiB' else 0}f} {unit}"
    return f"{n_bytes / 2**10:.0f} KiB"


# Everything is imported: what the process holds from here on is the data.
baseline = current_rss()
if np.isnan(baseline):
    # No /proc: the lifetime peak so far stands in for the baseline.
    baseline = peak_rss()
print(f"RSS after the imports: {size(baseline)}")

# %%
# Writing the table one block at a time
# -------------------------------------
# The target is Friedman's first function of five uniform columns plus
# Gaussian noise; 19 more columns are pure noise.  Each column is stored with
# its own scale and offset, from about 0.01 to 1000, so the network needs
# scaled inputs.  Each block of rows is appended to the file as soon as it
# is drawn: only one block is in memory at any time.  With Parquet,
# :class:`pyarrow.parquet.ParquetWriter` appends one row group per call, and
# dictionary encoding is switched off: it pays for columns with repeated
# values, and on these continuous ones it would make the file half as large
# again as the raw floats.
rng = np.random.default_rng(0)
column_scale = 10.0 ** rng.uniform(-2, 3, N_FEATURES)
column_offset = rng.normal(0, 5, N_FEATURES) * column_scale


def make_rows(n):
    """``n`` rows of features (float32) and target (float32)."""
    u = rng.random((n, N_FEATURES), dtype=np.float32)
    y = (
        10 * np.sin(np.pi * u[:, 0] * u[:, 1])
        + 20 * (u[:, 2] - 0.5) ** 2
        + 10 * u[:, 3]
        + 5 * u[:, 4]
        + NOISE * rng.standard_normal(n, dtype=np.float32)
    )
    X = u * column_scale.astype(np.float32) + column_offset.astype(np.float32)
    return X, y.astype(np.float32)


def write_table(path, n_groups):
    """Append ``n_groups`` blocks of ``ROWS_PER_GROUP`` rows to ``path``."""
    if FORMAT == "parquet":
        schema = pa.schema([(name, pa.float32()) for name in [*FEATURES, "y"]])
        with pq.ParquetWriter(path, schema, use_dictionary=False) as writer:
            for _ in range(n_groups):
                X_rows, y_rows = make_rows(ROWS_PER_GROUP)
                columns = [pa.array(X_rows[:, j]) for j in range(N_FEATURES)]
                columns.append(pa.array(y_rows))
                table = pa.Table.from_arrays(columns, schema=schema)
                writer.write_table(table, row_group_size=ROWS_PER_GROUP)
    else:
        with open(path, "wb") as out:
            for _ in range(n_groups):
                X_rows, y_rows = make_rows(ROWS_PER_GROUP)
                np.column_stack([X_rows, y_rows]).tofile(out)


workdir = tempfile.mkdtemp(prefix="skdrop_out_of_core_")
path = os.path.join(workdir, f"friedman.{'parquet' if FORMAT == 'parquet' else 'f32'}")

reset_peak()
start = time.perf_counter()
write_table(path, TRAIN_GROUPS + TEST_GROUPS)
write_seconds = time.perf_counter() - start
write_peak = peak_rss()

n_rows = (TRAIN_GROUPS + TEST_GROUPS) * ROWS_PER_GROUP
in_memory = n_rows * N_COLUMNS * np.dtype(np.float32).itemsize
on_disk = os.path.getsize(path)
train_groups = list(range(TRAIN_GROUPS))
test_groups = list(range(TRAIN_GROUPS, TRAIN_GROUPS + TEST_GROUPS))
n_train = TRAIN_GROUPS * ROWS_PER_GROUP
print(
    f"wrote {n_rows:,} rows x {N_COLUMNS} columns in "
    f"{TRAIN_GROUPS + TEST_GROUPS} blocks ({write_seconds:.0f} s): "
    f"{size(in_memory)} as float32 arrays, {size(on_disk)} on disk ({FORMAT})"
)

# %%
# Streaming the file
# ------------------
# ``stream`` reads the blocks it is given, in that order, and yields chunks
# of ``CHUNK`` rows as float32 arrays.  The binary file is read with
# :func:`numpy.fromfile` at each block's offset (a plain read, no memory
# map, so the pages read do not count in the process's memory).  With
# Parquet, :meth:`pyarrow.parquet.ParquetFile.iter_batches` does the same
# (a batch may then span two row groups); ``pre_buffer=False``, because by
# default the reader pre-buffers every row group it is asked for, which
# would end up holding the whole file.
if FORMAT == "parquet":
    parquet = pq.ParquetFile(path, pre_buffer=False)


def stream(row_groups, batch_size=CHUNK):
    """Yield ``(X, y)`` numpy chunks of the given blocks."""
    if FORMAT == "parquet":
        for batch in parquet.iter_batches(
            batch_size=batch_size, row_groups=row_groups, columns=[*FEATURES, "y"]
        ):
            X = np.column_stack([batch.column(name).to_numpy() for name in FEATURES])
            yield X, batch.column("y").to_numpy()
        return
    block_values = ROWS_PER_GROUP * N_COLUMNS
    with open(path, "rb") as data:
        for group in row_groups:
            data.seek(group * block_values * np.dtype(np.float32).itemsize)
            block = np.fromfile(data, dtype=np.float32, count=block_values)
            block = block.reshape(ROWS_PER_GROUP, N_COLUMNS)
            for first in range(0, ROWS_PER_GROUP, batch_size):
                rows = block[first : first + batch_size]
                yield rows[:, :N_FEATURES], rows[:, N_FEATURES]


# %%
# The scalers, fitted by streaming
# --------------------------------
# :meth:`~sklearn.preprocessing.StandardScaler.partial_fit` accumulates the
# means and variances chunk by chunk, giving the same scaling as a ``fit`` on
# the whole training part.  The target is standardized too: the network then
# learns a target of unit variance, whatever its units.
x_scaler, y_scaler = StandardScaler(), StandardScaler()
reset_peak()
start = time.perf_counter()
for X, y in stream(train_groups):
    x_scaler.partial_fit(X)
    y_scaler.partial_fit(y[:, None])
scaler_seconds = time.perf_counter() - start
scaler_peak = peak_rss()
print(f"scaler pass: {scaler_seconds:.0f} s")

# %%
# Training by streaming
# ---------------------
# Every ``partial_fit`` call runs one epoch over its chunk (here mini-batches
# of 1000 rows, shuffled within the chunk), continuing from the previous
# call.  Rows are only shuffled within a chunk, so each pass visits the row
# groups in a random order, which matters when the file is sorted (by time,
# by label, ...).  ``loss_curve_`` gets one entry per call: the training loss
# of that chunk, with the dropout masks on.  One pass is plenty here (at
# full size, 69 million rows); with less data, stream the file several times.
#
# Every ``SCORE_EVERY`` calls the held-out blocks are streamed through
# ``predict`` and the R^2 score is accumulated from sums, without keeping
# predictions.


def streamed_r2(model):
    """R^2 of ``model`` on the held-out blocks, streamed."""
    sse = total = total_sq = count = 0.0
    for X, y in stream(test_groups):
        pred = y_scaler.inverse_transform(model.predict(x_scaler.transform(X))[:, None])
        y = y.astype(np.float64)
        sse += float(np.sum((y - pred[:, 0]) ** 2))
        total += float(y.sum())
        total_sq += float(y @ y)
        count += y.size
    return 1.0 - sse / (total_sq - total**2 / count)


model = DropoutMLPRegressor(
    hidden_layer_sizes=(32,) if FAST else (64,),
    hidden_dropout=0.1,
    batch_size=100 if FAST else 1000,
    learning_rate_init=1e-2 if FAST else 1e-3,
    random_state=0,
)
order_rng = np.random.default_rng(1)
pass_ends, scored_at, scores = [], [], []
reset_peak()
start = time.perf_counter()
for _ in range(PASSES):
    for X, y in stream(order_rng.permutation(TRAIN_GROUPS).tolist()):
        model.partial_fit(x_scaler.transform(X), y_scaler.transform(y[:, None])[:, 0])
        if len(model.loss_curve_) % SCORE_EVERY == 0:
            scored_at.append(model.t_)
            scores.append(streamed_r2(model))
            print(f"{model.t_:>11,} rows: held-out R^2 = {scores[-1]:.4f}")
    pass_ends.append(len(model.loss_curve_))
if scored_at[-1] != model.t_:
    scored_at.append(model.t_)
    scores.append(streamed_r2(model))
    print(f"{model.t_:>11,} rows: held-out R^2 = {scores[-1]:.4f}")
train_seconds = time.perf_counter() - start
train_peak = peak_rss()
del X, y

# The noise bounds the R^2 a perfect model can reach.
best_r2 = 1.0 - NOISE**2 / y_scaler.var_[0]

# %%
# Memory used while training
# --------------------------
# The peak RSS of the training phase (the held-out scoring included) is
# compared with the RSS after the imports: the growth is what
# streaming costs.  It is made of a block being decoded, a chunk and its
# scaled copy, the network's mini-batch buffers and what the allocators keep
# for reuse; it does not depend on the number of rows in the file.
growth = train_peak - baseline
print(f"training rows streamed per pass: {n_train:,}; calls: {len(model.loss_curve_)}")
print(f"rows seen by partial_fit (t_): {model.t_:,}")
print(f"file: {size(on_disk)} on disk, {size(in_memory)} in memory as float32")
print(f"RSS after imports:  {size(baseline)}")
print(f"peak RSS, writing:  {size(write_peak)}")
print(f"peak RSS, scaling:  {size(scaler_peak)}")
print(f"peak RSS, training: {size(train_peak)} (+{size(growth)} over the imports)")
print(f"data in memory / training's memory growth: {in_memory / growth:.3g}x")
print(f"data in memory / whole process's peak RSS: {in_memory / train_peak:.3g}x")
print(f"training and scoring time: {train_seconds:.0f} s")
print(f"held-out R^2: {scores[-1]:.4f} (noise ceiling {best_r2:.4f})")

fig, (ax_loss, ax_score) = plt.subplots(
    1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [2, 1]}
)
chunks = np.arange(1, len(model.loss_curve_) + 1)
ax_loss.plot(chunks, model.loss_curve_, lw=0.8)
for end in pass_ends[:-1]:
    ax_loss.axvline(end + 0.5, color="0.6", ls="--", lw=0.8)
ax_loss.set_yscale("log")
ax_loss.set_xlabel(f"partial_fit call (chunk of {CHUNK:,} rows)")
ax_loss.set_ylabel("training loss (scaled target)")
ax_loss.set_title(
    "Loss per streamed chunk" + (" (dashes: new pass)" if PASSES > 1 else "")
)
ax_score.plot(np.array(scored_at) / 1e6, scores, "o-", label="held-out, streamed")
ax_score.axhline(best_r2, color="k", ls=":", label="noise ceiling")
ax_score.set_xlabel("rows streamed into partial_fit (millions)")
ax_score.set_ylabel("R^2")
ax_score.set_title(
    f"{size(in_memory)} of data, +{size(growth)} of RSS", fontsize="medium"
)
ax_score.legend(fontsize="small", loc="best")
fig.tight_layout()

# %%
# Cleaning up
# -----------
# The temporary file is deleted.  The training curve is noisy because each
# chunk's loss is measured with the dropout masks on and on different rows;
# the held-out score, measured without dropout, is the one to monitor.
if FORMAT == "parquet":
    parquet.close()
shutil.rmtree(workdir)
plt.show()
