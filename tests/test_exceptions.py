"""skdrop.exceptions: attributes, messages, and pickling (joblib and dask send
exceptions and warnings raised in workers back to the parent by pickle)."""

from __future__ import annotations

import copy
import pickle

import pytest

from skdrop.exceptions import FitInterrupted, InconsistentVersionWarning

EXCEPTIONS = [
    FitInterrupted(estimator_name="DropoutMLPRegressor", n_epochs=3),
    InconsistentVersionWarning(
        estimator_name="DropoutLinearRegression",
        current_skdrop_version="0.2.0",
        original_skdrop_version="0.1.0",
    ),
]


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_round_trip_keeps_attributes_and_message(exc, how):
    if how == "pickle":
        again = pickle.loads(pickle.dumps(exc))
    else:
        again = getattr(copy, how)(exc)
    assert type(again) is type(exc)
    assert vars(again) == vars(exc)
    assert str(again) == str(exc)


def test_messages_name_the_values():
    stop, warning = EXCEPTIONS
    assert str(stop) == (
        "DropoutMLPRegressor.fit was interrupted; the estimator keeps the 3 "
        "epoch(s) this call completed"
    )
    assert isinstance(stop, KeyboardInterrupt)
    assert "DropoutLinearRegression from skdrop version 0.1.0" in str(warning)
    assert "when using version 0.2.0" in str(warning)
    assert isinstance(warning, UserWarning)
