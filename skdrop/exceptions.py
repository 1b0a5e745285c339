"""Warnings and errors specific to skdrop."""

from __future__ import annotations

from typing import Any

__all__ = ["FitInterrupted", "InconsistentVersionWarning"]


def _rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    """Unpickle an exception from its keyword-only arguments."""
    return cls(**kwargs)


class InconsistentVersionWarning(UserWarning):
    """A fitted estimator was saved by another minor version of skdrop.

    Raised as a warning when a pickle or a skops file written by a different
    ``major.minor`` release of skdrop is loaded, like scikit-learn's
    :class:`sklearn.exceptions.InconsistentVersionWarning`: the model may load
    and predict, but nothing guarantees that it behaves as it did.  Refit it
    with the installed version, or install the version that wrote it.

    Parameters
    ----------
    estimator_name : str
        Class name of the loaded estimator.
    current_skdrop_version : str
        The installed skdrop version.
    original_skdrop_version : str
        The version that saved the estimator.

    Examples
    --------
    >>> import pickle, warnings
    >>> from skdrop import DropoutLinearRegression
    >>> from skdrop.exceptions import InconsistentVersionWarning
    >>> model = DropoutLinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    >>> state = model.__getstate__()
    >>> state["_skdrop_version"] = "0.0.1"  # as if an older release wrote it
    >>> old = DropoutLinearRegression.__new__(DropoutLinearRegression)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     old.__setstate__(state)
    >>> w = caught[0].message
    >>> isinstance(w, InconsistentVersionWarning), w.original_skdrop_version
    (True, '0.0.1')
    """

    def __init__(
        self,
        *,
        estimator_name: str,
        current_skdrop_version: str,
        original_skdrop_version: str,
    ) -> None:
        super().__init__(
            estimator_name, current_skdrop_version, original_skdrop_version
        )
        self.estimator_name = estimator_name
        self.current_skdrop_version = current_skdrop_version
        self.original_skdrop_version = original_skdrop_version

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds from positional args, which __init__ refuses;
        # joblib and dask pickle warnings and errors raised in workers.
        return _rebuild, (
            type(self),
            {
                "estimator_name": self.estimator_name,
                "current_skdrop_version": self.current_skdrop_version,
                "original_skdrop_version": self.original_skdrop_version,
            },
        )

    def __str__(self) -> str:
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skdrop version "
            f"{self.original_skdrop_version} when using version "
            f"{self.current_skdrop_version}. This might lead to breaking code or "
            "invalid results. Use at your own risk. Refit the model with the "
            "installed version, or load it with the version that saved it (see "
            "'Saving and loading models' in the skdrop user guide)."
        )


class FitInterrupted(KeyboardInterrupt):
    """``fit`` was interrupted (Ctrl-C) after completing some epochs.

    A subclass of :class:`KeyboardInterrupt`, so an interrupted script still
    stops, but the estimator is not rolled back: it holds the model of its
    last completed epoch, exactly as if ``max_iter`` had been the number of
    epochs completed (the interrupted epoch is undone; with early stopping
    the best epoch so far is restored).  Its ``n_iter_``, ``loss_curve_``
    and weights say how far it got, and ``fit`` with ``warm_start=True`` or
    ``partial_fit`` continue from there.  An interruption before the first
    epoch completes raises a plain :class:`KeyboardInterrupt` and leaves the
    estimator as it was before ``fit``.

    Parameters
    ----------
    estimator_name : str
        Class name of the interrupted estimator.
    n_epochs : int
        Epochs completed and kept by this call.

    Examples
    --------
    Catch it to keep working with the partly trained model (in a notebook,
    interrupting the kernel during ``fit`` raises it)::

        from skdrop.exceptions import FitInterrupted

        try:
            model.fit(X, y)
        except FitInterrupted as stop:
            print(f"kept {stop.n_epochs} epochs")
        model.predict(X)
    """

    def __init__(self, *, estimator_name: str, n_epochs: int) -> None:
        super().__init__(estimator_name, n_epochs)
        self.estimator_name = estimator_name
        self.n_epochs = n_epochs

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (
            type(self),
            {"estimator_name": self.estimator_name, "n_epochs": self.n_epochs},
        )

    def __str__(self) -> str:
        return (
            f"{self.estimator_name}.fit was interrupted; the estimator keeps the "
            f"{self.n_epochs} epoch(s) this call completed"
        )
