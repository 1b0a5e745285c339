"""Names kept for one release after a rename, with a ``FutureWarning``.

A renamed parameter stays in ``__init__`` with the default ``"deprecated"``
(so that ``get_params`` and ``clone`` keep a value a user set); ``fit`` reads
the effective value through :func:`renamed_parameter` (or
:func:`renamed_parameters`), which refuses both names at once.  A renamed fitted
attribute is a :class:`renamed_attribute` on the class (a
:class:`renamed_entry` when it became an entry of a dict).  A function's renamed
keyword arguments go through :func:`renamed_arguments`, a renamed function
through :func:`renamed_function`.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from sklearn.utils._param_validation import Hidden, StrOptions

#: The default of a renamed parameter: the user did not set it.
DEPRECATED = "deprecated"
#: Its entry in ``_parameter_constraints``, beside what the old name took.
DEPRECATED_OPTION = Hidden(StrOptions({DEPRECATED}))
#: The release that renamed the names below and the one that removes them.
RENAMED_IN, REMOVED_IN = "0.3", "0.4"

F = TypeVar("F", bound=Callable[..., Any])


def is_unset(value: Any) -> bool:
    """Whether a renamed parameter still holds its ``"deprecated"`` default."""
    return isinstance(value, str) and value == DEPRECATED


_NO_DEFAULT: Any = object()


def holds_default(value: Any, default: Any) -> bool:
    """Whether a parameter holds its default (a grid compared by value)."""
    if isinstance(value, str) or isinstance(default, str):
        return isinstance(value, str) and value == default
    try:
        return bool(np.array_equal(np.asarray(value), np.asarray(default)))
    except (TypeError, ValueError):
        return value is default


def renamed_parameter(
    estimator: Any, old: str, new: str, default: Any = _NO_DEFAULT, stacklevel: int = 3
) -> Any:
    """The value to use for parameter ``new`` of ``estimator``: the old name's
    when the user set it (with a ``FutureWarning``), else the new name's.
    Given the new name's ``default``, a ``ValueError`` naming both when the
    new name is set too (away from its default).  ``stacklevel`` is the
    warning's, counted from this function.

    Examples
    --------
    >>> import warnings
    >>> from skdrop.utils._deprecation import renamed_parameter
    >>> class Model:
    ...     input_dropout, dropout = 0.2, 0.5
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed_parameter(Model(), "dropout", "input_dropout")
    0.5
    >>> print(caught[0].message)
    Model: the parameter 'dropout' was renamed 'input_dropout' in 0.3; \
'dropout' will be removed in 0.4.
    """
    value = getattr(estimator, old)
    if is_unset(value):
        return getattr(estimator, new)
    current = getattr(estimator, new)
    if default is not _NO_DEFAULT and not holds_default(current, default):
        raise ValueError(
            f"{type(estimator).__name__}: {old!r} is the old name of {new!r}; "
            f"set only {new!r}, got {new}={current!r} and {old}={value!r}"
        )
    warnings.warn(
        f"{type(estimator).__name__}: the parameter {old!r} was renamed {new!r} "
        f"in {RENAMED_IN}; {old!r} will be removed in {REMOVED_IN}.",
        FutureWarning,
        stacklevel=stacklevel,
    )
    return value


def renamed_parameters(estimator: Any, renames: dict[str, str]) -> dict[str, Any]:
    """:func:`renamed_parameter` for each ``{old: new}`` of ``renames`` that
    ``estimator``'s signature has, against the new name's default there:
    the values to use, under the new names.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from skdrop.utils._deprecation import renamed_parameters
    >>> class Model(BaseEstimator):
    ...     def __init__(self, input_dropout=0.2, *, dropout="deprecated"):
    ...         self.input_dropout, self.dropout = input_dropout, dropout
    >>> renamed_parameters(Model(0.4), {"dropout": "input_dropout"})
    {'input_dropout': 0.4}
    >>> renamed_parameters(Model(0.4, dropout=0.5), {"dropout": "input_dropout"})
    Traceback (most recent call last):
    ...
    ValueError: Model: 'dropout' is the old name of 'input_dropout'; set only \
'input_dropout', got input_dropout=0.4 and dropout=0.5
    """
    defaults = inspect.signature(type(estimator)).parameters
    values = {}
    for old, new in renames.items():
        if old in defaults:
            # The warning points where renamed_parameter's own caller would.
            values[new] = renamed_parameter(
                estimator, old, new, defaults[new].default, stacklevel=4
            )
    return values


class renamed_attribute:
    """A fitted attribute's old name, read through to the new one with a
    ``FutureWarning``.

    Examples
    --------
    >>> import warnings
    >>> from skdrop.utils._deprecation import renamed_attribute
    >>> class Model:
    ...     cv_values_ = renamed_attribute("loo_values_")
    ...     loo_values_ = [1.0]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FutureWarning)
    ...     Model().cv_values_
    [1.0]
    """

    def __init__(self, new: str) -> None:
        self.new = new
        self.old = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.old = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = getattr(instance, self.new)  # an AttributeError when unfitted
        warnings.warn(
            f"{type(instance).__name__}: the attribute {self.old!r} "
            f"{self._what()} in {RENAMED_IN}; {self.old!r} will be removed in "
            f"{REMOVED_IN}.",
            FutureWarning,
            stacklevel=2,
        )
        return self._read(value)

    def _what(self) -> str:
        """What the old name became, for the warning."""
        return f"was renamed {self.new!r}"

    def _read(self, value: Any) -> Any:
        """The old attribute's value from the new one's."""
        return value


class renamed_entry(renamed_attribute):
    """A fitted attribute's old name, read through to one entry of the new
    attribute (a dict) with a ``FutureWarning``.

    Examples
    --------
    >>> import warnings
    >>> from skdrop.utils._deprecation import renamed_entry
    >>> class Search:
    ...     dropout_ = renamed_entry("best_params_", "input_dropout")
    ...     best_params_ = {"input_dropout": 0.2}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FutureWarning)
    ...     Search().dropout_
    0.2
    """

    def __init__(self, new: str, key: str) -> None:
        super().__init__(new)
        self.key = key

    def _what(self) -> str:
        return f"became {self.new}[{self.key!r}]"

    def _read(self, value: Any) -> Any:
        return value[self.key]


def renamed_arguments(**renames: str) -> Callable[[F], F]:
    """Decorator: a function's keyword arguments passed under their old
    names ``renames = {old: new}`` reach the new ones, with a
    ``FutureWarning``; both names at once are a ``ValueError``, as for a
    renamed parameter.

    Examples
    --------
    >>> import warnings
    >>> from skdrop.utils._deprecation import renamed_arguments
    >>> @renamed_arguments(mean="y_mean")
    ... def score(y_true, y_mean):
    ...     return y_true - y_mean
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     score(3, mean=1)
    2
    >>> print(caught[0].message)
    score: the argument 'mean' was renamed 'y_mean' in 0.3; 'mean' will be \
removed in 0.4.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise ValueError(
                        f"{function.__name__}: got both {old!r} and its new name "
                        f"{new!r}; pass {new!r} only"
                    )
                warnings.warn(
                    f"{function.__name__}: the argument {old!r} was renamed "
                    f"{new!r} in {RENAMED_IN}; {old!r} will be removed in "
                    f"{REMOVED_IN}.",
                    FutureWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def renamed_function(function: F, old: str) -> F:
    """``function`` under its old name ``old``: the same call, with a
    ``FutureWarning``.

    Examples
    --------
    >>> import warnings
    >>> from skdrop.utils._deprecation import renamed_function
    >>> def gaussian_crps(y_true):
    ...     return y_true
    >>> crps_gaussian = renamed_function(gaussian_crps, "crps_gaussian")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     crps_gaussian(1.0)
    1.0
    >>> print(caught[0].message)
    the function 'crps_gaussian' was renamed 'gaussian_crps' in 0.3; \
'crps_gaussian' will be removed in 0.4.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"the function {old!r} was renamed {function.__name__!r} in "
            f"{RENAMED_IN}; {old!r} will be removed in {REMOVED_IN}.",
            FutureWarning,
            stacklevel=2,
        )
        return function(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = old
    wrapper.__doc__ = (
        f"Deprecated alias of :func:`{function.__name__}` (renamed in "
        f"{RENAMED_IN}, removed in {REMOVED_IN})."
    )
    return cast(F, wrapper)
