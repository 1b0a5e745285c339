"""Version stamps in saved estimators (pickle and skops)."""

from __future__ import annotations

import inspect
import warnings
from typing import Any, cast

from .._version import __version__
from ..exceptions import InconsistentVersionWarning

# Estimators saved before files carried a version stamp.
_UNKNOWN_VERSION = "pre-0.1"


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


class VersionedStateMixin:
    """Stamp ``__getstate__`` with the skdrop version; warn on a mismatch.

    scikit-learn stamps only its own estimators, so skdrop keeps its own
    ``_skdrop_version``.  Loading a file from another ``major.minor`` release
    warns with :class:`~skdrop.exceptions.InconsistentVersionWarning`; patch
    releases keep the saved state compatible.
    """

    def __getstate__(self) -> dict[str, Any]:
        # A copy: on Python >= 3.11 BaseEstimator returns the instance's own
        # __dict__, and edits to it would change the live estimator.
        state = dict(cast("dict[str, Any]", super().__getstate__()))
        state["_skdrop_version"] = __version__
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        original = str(state.pop("_skdrop_version", _UNKNOWN_VERSION))
        if _minor(original) != _minor(__version__):
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_skdrop_version=__version__,
                    original_skdrop_version=original,
                ),
                stacklevel=2,
            )
        # Parameters added since the file was written take their defaults,
        # so that get_params, clone and fit work.
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if param.default is not inspect.Parameter.empty:
                state.setdefault(name, param.default)
        super().__setstate__(state)  # type: ignore[misc]
