"""Input checks shared by the skdrop estimators."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Any, TypeVar

import numpy as np

from ..exceptions import FitInterrupted

F = TypeVar("F", bound=Callable[..., Any])

# The units of a memory size: decimal and binary multiples of a byte.
_BYTE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}
_BYTE_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def atomic_fit(fit: F) -> F:
    """Restore the estimator's previous state when ``fit`` raises.

    ``validate_data`` records ``n_features_in_`` before the data has been
    checked completely; without this a failed ``fit`` could leave a
    previously fitted estimator half overwritten.  A
    :class:`~skdrop.exceptions.FitInterrupted` is the exception: it reports a
    fit that stopped on purpose at a completed epoch.
    """

    @functools.wraps(fit)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except FitInterrupted:
            # The fit kept its completed epochs on purpose.
            raise
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    return wrapper  # type: ignore[return-value]


def seed_from_random_state(random_state: Any) -> int:
    """A 63-bit seed for torch generators, without touching global RNG state.

    ``None`` draws fresh operating-system entropy instead of reading numpy's
    global generator, an int is used as is, and a ``RandomState`` or
    ``Generator`` instance supplied by the user is advanced, as scikit-learn
    does.
    """
    if random_state is None:
        return secrets.randbits(63)
    if isinstance(random_state, Integral):
        return int(random_state) & (2**63 - 1)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise ValueError(
        "random_state must be None, an int, a numpy RandomState or Generator, "
        f"got {random_state!r}"
    )


def resolve_feature_groups(
    feature_groups: Sequence[Sequence[Any]] | None,
    n_features: int,
    feature_names: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Turn ``feature_groups`` into a partition of the columns.

    Each group is a list of column indices, or of column names when the
    estimator was fitted on a DataFrame.  Columns in no group form groups of
    their own.  Returns int arrays ordered by their first column.
    """
    if feature_groups is None:
        return [np.array([j], dtype=np.intp) for j in range(n_features)]
    name_to_pos = (
        {}
        if feature_names is None
        else {str(name): pos for pos, name in enumerate(feature_names)}
    )
    owner = np.full(n_features, -1, dtype=np.intp)
    groups: list[np.ndarray] = []
    for g, group in enumerate(feature_groups):
        if isinstance(group, (str, bytes, Integral)) or not hasattr(group, "__iter__"):
            raise ValueError(
                f"feature_groups[{g}] must be a list of column indices or names, "
                f"got {group!r}"
            )
        members = list(group)
        if not members:
            raise ValueError(
                f"feature_groups[{g}] is empty; each group needs at least one column"
            )
        positions = []
        for member in members:
            pos = column_position(member, g, n_features, name_to_pos, feature_names)
            if owner[pos] != -1:
                where = (
                    f"twice in feature_groups[{g}]"
                    if owner[pos] == g
                    else f"in feature_groups[{owner[pos]}] and feature_groups[{g}]"
                )
                raise ValueError(
                    f"column {member!r} is listed {where}; "
                    "feature groups must not overlap"
                )
            owner[pos] = g
            positions.append(pos)
        groups.append(np.array(sorted(positions), dtype=np.intp))
    groups.extend(np.array([j], dtype=np.intp) for j in np.flatnonzero(owner == -1))
    groups.sort(key=lambda idx: int(idx[0]))
    return groups


def column_position(
    member: Any,
    g: int,
    n_features: int,
    name_to_pos: dict[str, int],
    feature_names: Sequence[str] | None,
) -> int:
    if isinstance(member, str):
        if feature_names is None:
            raise ValueError(
                f"feature_groups[{g}] names column {member!r}, but X has no column "
                "names; use column indices or fit on a pandas DataFrame"
            )
        if member not in name_to_pos:
            shown = ", ".join(repr(str(n)) for n in list(feature_names)[:8])
            more = ", ..." if len(feature_names) > 8 else ""
            raise ValueError(
                f"feature_groups[{g}] names unknown column {member!r}; "
                f"the columns are [{shown}{more}]"
            )
        return name_to_pos[member]
    if isinstance(member, Integral) and not isinstance(member, bool):
        if not 0 <= int(member) < n_features:
            raise ValueError(
                f"feature_groups[{g}] has column index {member}, out of range for "
                f"X with {n_features} features: indices must be in "
                f"[0, {n_features - 1}]"
            )
        return int(member)
    raise ValueError(
        f"feature_groups[{g}] must hold column indices (int) or names (str), "
        f"got {member!r}"
    )


def group_labels(groups: Sequence[np.ndarray], n_features: int) -> np.ndarray:
    """The group number of each column."""
    labels = np.empty(n_features, dtype=np.intp)
    for g, idx in enumerate(groups):
        labels[idx] = g
    return labels


def resolve_batch_size(batch_size: int | str, n_samples: int) -> int:
    """The mini-batch size that ``batch_size`` asks for: ``"auto"`` is
    ``min(200, n_samples)``, an int is used as is."""
    return min(200, n_samples) if batch_size == "auto" else int(batch_size)


def check_dropout_grid(dropouts: Any, name: str = "dropouts") -> np.ndarray:
    """A 1-d float array of rates in [0, 1), or a ``ValueError`` naming the
    parameter ``name``."""
    try:
        rates = np.asarray(dropouts, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a non-empty 1-d list of rates, got {dropouts!r}"
        ) from exc
    if rates.ndim != 1 or rates.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-d list of rates, got {dropouts!r}"
        )
    bad = rates[~((rates >= 0) & (rates < 1))]
    if bad.size:
        raise ValueError(f"{name} must be in [0, 1), got {float(bad[0])!r}")
    return rates


def numeric_target(y: Any, estimator_name: str, hint: str = "") -> np.ndarray:
    """``y`` as float64, or a ``ValueError`` naming a value that is not a number."""
    try:
        return np.asarray(y, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(
            f"{estimator_name} needs a numeric target y, got values such as "
            f"{_first_non_numeric(y)!r}{hint}"
        ) from exc


def _first_non_numeric(values: Any) -> Any:
    """The first entry of ``values`` that ``float`` rejects, for messages."""
    for value in np.asarray(values, dtype=object).ravel().tolist():
        try:
            float(value)
        except (TypeError, ValueError):
            return value
    return None


def check_magnitude(values: np.ndarray, name: str, limit: float, why: str) -> None:
    """A ``ValueError`` when an entry of ``values`` is larger than ``limit`` in
    absolute value: finite in float64 but overflowing the computation."""
    if values.size == 0:
        return
    largest = max(float(np.max(values)), -float(np.min(values)))
    if largest > limit:
        raise ValueError(
            f"{name} has a value of magnitude {largest:.3g}, more than the "
            f"{limit:.3g} allowed ({why}); scale it, for example with "
            "StandardScaler"
        )


def scoring_name(scoring: Any) -> str | None:
    """A readable name for a ``scoring`` argument; None for the default."""
    if scoring is None or isinstance(scoring, str):
        return scoring
    return str(getattr(scoring, "__name__", type(scoring).__name__))


def parse_memory_size(
    value: Any,
    name: str,
    allowed: str = "a memory size such as '500MB' or '2GB'",
) -> int:
    """The bytes of a memory size such as ``"500MB"``, ``"1.5 GiB"`` or
    ``"2048"`` (bytes), or a ``ValueError`` saying that ``name`` must be
    ``allowed``.

    Examples
    --------
    >>> from skdrop.utils._validation import parse_memory_size
    >>> parse_memory_size("0.5GB", "budget"), parse_memory_size("2KiB", "budget")
    (500000000, 2048)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", str(value), re.I)
    if match is None:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(float(match.group(1)) * _BYTE_UNITS[(match.group(2) or "").upper()])


def set_params_of_init(estimator, arguments):
    """Store ``__init__``'s ``arguments`` (its ``locals()`` on entry) as
    attributes of the same names, unchanged, as scikit-learn expects.

    Examples
    --------
    >>> from skdrop.utils._validation import set_params_of_init
    >>> class Model:
    ...     def __init__(self, alpha=1.0, *, fit_intercept=True):
    ...         set_params_of_init(self, locals())
    >>> vars(Model(alpha=2.0))
    {'alpha': 2.0, 'fit_intercept': True}
    """
    for name, value in arguments.items():
        if name != "self":
            setattr(estimator, name, value)
