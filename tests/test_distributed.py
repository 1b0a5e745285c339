"""Grid search and ablation importance on a dask cluster equal ``n_jobs=1``.

The workers are separate processes with one torch thread each, like the main
test process (see conftest.py).  On the CPU a fit is then a pure function of
its inputs (tests/test_determinism.py), so the results must agree bit for bit,
not just to round-off: every comparison here is exact.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import distributed
import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import StandardScaler

from skdrop import (
    DropoutLinearRegression,
    DropoutMLPClassifier,
    DropoutMLPClassifierCV,
    DropoutMLPRegressor,
)
from skdrop.inspection import ablation_importance

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL_MLP = dict(
    hidden_layer_sizes=(16,), max_iter=20, learning_rate_init=0.01, random_state=0
)
DROPOUT_GRID = {"input_dropout": [0, 0.2], "hidden_dropout": [0, 0.5]}
SCALING_RST = Path(__file__).parent.parent / "docs" / "user_guide" / "scaling.rst"


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on the loopback interface."""
    with warnings.catch_warnings():
        # Without a dashboard the scheduler still serves its health and
        # metrics routes over HTTP, on 127.0.0.1:8787 when that is free and on
        # another port, with a UserWarning, when another cluster has it.
        warnings.filterwarnings("ignore", "Port 8787 is already in use")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.WARNING,
        )
    # Both context managers close on the way out, also when a test failed or
    # the setup below raised.
    with cluster, distributed.Client(cluster) as client:
        # The nanny already starts the workers with OMP_NUM_THREADS=1; this
        # makes it explicit.  It must come before the first task: tasks run on
        # executor threads, and a thread that has used torch keeps its count.
        client.run(torch.set_num_threads, 1)
        # The workers print the ConvergenceWarnings of the short fits
        # otherwise: GridSearchCV sends the test's warning filters along with
        # its tasks, but ablation_importance uses plain joblib, which does not.
        client.run(warnings.filterwarnings, "ignore", category=ConvergenceWarning)
        yield client


def _threads_of_each_worker(client):
    workers = list(client.scheduler_info()["workers"])
    futures = [
        client.submit(torch.get_num_threads, pure=False, workers=[w]) for w in workers
    ]
    return client.gather(futures)


def _on_cluster(client, fit):
    """``fit()`` under the dask backend, asserting that the workers ran it."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        result = fit()
    workers = {task["worker"] for task in stream.data}
    assert workers, "no task ran on the cluster"
    return result


def test_tasks_run_with_one_torch_thread(client):
    assert _threads_of_each_worker(client) == [1, 1]
    assert torch.get_num_threads() == 1


def _assert_same_search(serial, parallel, X):
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key]
        )
    for split in range(serial.n_splits_):
        key = f"split{split}_test_score"
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key]
        )
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(
        parallel.best_estimator_.predict(X), serial.best_estimator_.predict(X)
    )


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("Estimator", [DropoutMLPRegressor, DropoutMLPClassifier])
def test_mlp_grid_search_equals_serial(client, diabetes, cancer, Estimator):
    if Estimator is DropoutMLPRegressor:
        X, y = diabetes
        y = (y - y.mean()) / y.std()
    else:
        X, y = cancer
    search = GridSearchCV(Estimator(**SMALL_MLP), DROPOUT_GRID, cv=3)
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    parallel = _on_cluster(client, lambda: clone(search).fit(X, y))
    _assert_same_search(serial, parallel, X)
    # The rates change the outcome: the comparison is not between ties.
    assert len(set(serial.cv_results_["mean_test_score"])) >= 3
    if Estimator is DropoutMLPClassifier:
        np.testing.assert_array_equal(
            parallel.best_estimator_.predict_proba(X),
            serial.best_estimator_.predict_proba(X),
        )
    for a, b in zip(
        parallel.best_estimator_.coefs_, serial.best_estimator_.coefs_, strict=True
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("refit", [True, "ensemble"])
def test_mlp_cv_passes_on_the_cluster_equal_serial(client, cancer, refit):
    """The passes of DropoutMLPClassifierCV (max_members each) as joblib
    jobs on the dask workers give the sequential run's networks bit for
    bit."""
    X, y = cancer
    search = DropoutMLPClassifierCV(
        hidden_layer_sizes=(16,),
        input_dropouts=[0.0, 0.2],
        hidden_dropouts=[0.0, 0.5],
        cv=3,
        max_members=4,  # 12 members: 3 passes
        max_iter=10,
        learning_rate_init=0.01,
        random_state=0,
        refit=refit,
    )
    serial = clone(search).fit(X, y)
    parallel = _on_cluster(client, lambda: clone(search).fit(X, y))
    if refit is True:
        _assert_same_search(serial, parallel, X)
    else:
        for key in serial.cv_results_:
            if key.startswith(("split", "mean_test", "rank")):
                np.testing.assert_array_equal(
                    parallel.cv_results_[key], serial.cv_results_[key]
                )
        for a, b in zip(serial.estimators_, parallel.estimators_, strict=True):
            for wa, wb in zip(
                a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
            ):
                np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(
            parallel.predict_proba(X), serial.predict_proba(X)
        )
    assert len(set(serial.cv_results_["mean_test_score"])) >= 3


def test_linear_grid_search_equals_serial(client, diabetes):
    X, y = diabetes
    # The closed form in numpy and the torch SGD with real masks, one grid.
    search = GridSearchCV(
        DropoutLinearRegression(max_iter=20, tol=0, random_state=0),
        {"input_dropout": [0.0, 0.2, 0.5], "solver": ["closed_form", "sgd"]},
        cv=KFold(3),
    )
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    parallel = _on_cluster(client, lambda: clone(search).fit(X, y))
    _assert_same_search(serial, parallel, X)
    np.testing.assert_array_equal(
        parallel.best_estimator_.coef_, serial.best_estimator_.coef_
    )


@pytest.mark.parametrize("method", ["refit", "mask"])
def test_ablation_importance_equals_serial(client, diabetes, method):
    X, y = diabetes
    y = (y - y.mean()) / y.std()
    mlp = DropoutMLPRegressor(**{**SMALL_MLP, "input_dropout": 0.2})
    kwargs = dict(
        feature_groups=[[0, 1], [2], [3], [4, 5, 6, 7], [8, 9]],
        cv=3,
        random_state=0,
        method=method,
    )
    serial = ablation_importance(mlp, X, y, n_jobs=1, **kwargs)
    parallel = _on_cluster(client, lambda: ablation_importance(mlp, X, y, **kwargs))
    np.testing.assert_array_equal(parallel.baseline_scores, serial.baseline_scores)
    np.testing.assert_array_equal(parallel.importances, serial.importances)
    assert np.all(np.isfinite(serial.importances))


def _dask_code_block():
    """The code-block of the user guide that runs the dask example (the
    GridSearchCV one; a later block shows the CV networks in the same
    context)."""
    blocks = re.findall(
        r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)",
        SCALING_RST.read_text(),
        flags=re.MULTILINE,
    )
    (block,) = [
        b for b in blocks if 'parallel_backend("dask")' in b and "GridSearchCV(" in b
    ]
    return "\n".join(line[4:] for line in block.splitlines())


def test_user_guide_example(client):
    """The dask example of docs/user_guide/scaling.rst, on this cluster."""
    namespace = {}
    exec(compile(_dask_code_block(), str(SCALING_RST), "exec"), namespace)
    X, y, search = namespace["X"], namespace["y"], namespace["search"]
    assert search.n_jobs is None
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    _assert_same_search(serial, search, X)
    expected = ablation_importance(
        serial.best_estimator_, X, y, cv=3, random_state=0, n_jobs=1
    )
    np.testing.assert_array_equal(
        namespace["importance"].importances, expected.importances
    )
