"""Names kept for one release after a rename, with a ``FutureWarning``.

A renamed parameter stays in ``__init__`` with the default ``"deprecated"``
(so that ``get_params`` and ``clone`` keep a value a user set); ``fit`` reads
the effective value through :func:`renamed_parameter`.  A renamed fitted
attribute is a :class:`renamed_attribute` on the class.
"""

from __future__ import annotations

import warnings
from typing import Any

from sklearn.utils._param_validation import Hidden, StrOptions

#: The default of a renamed parameter: the user did not set it.
DEPRECATED = "deprecated"
#: Its entry in ``_parameter_constraints``, beside what the old name took.
DEPRECATED_OPTION = Hidden(StrOptions({DEPRECATED}))
#: The release that renamed the names below and the one that removes them.
RENAMED_IN, REMOVED_IN = "0.3", "0.4"


def is_unset(value: Any) -> bool:
    """Whether a renamed parameter still holds its ``"deprecated"`` default."""
    return isinstance(value, str) and value == DEPRECATED


def renamed_parameter(estimator: Any, old: str, new: str) -> Any:
    """The value to use for parameter ``new`` of ``estimator``: the old name's
    when the user set it (with a ``FutureWarning``), else the new name's.

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
    warnings.warn(
        f"{type(estimator).__name__}: the parameter {old!r} was renamed {new!r} "
        f"in {RENAMED_IN}; {old!r} will be removed in {REMOVED_IN}.",
        FutureWarning,
        stacklevel=3,
    )
    return value


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
            f"{type(instance).__name__}: the attribute {self.old!r} was renamed "
            f"{self.new!r} in {RENAMED_IN}; {self.old!r} will be removed in "
            f"{REMOVED_IN}.",
            FutureWarning,
            stacklevel=2,
        )
        return value
