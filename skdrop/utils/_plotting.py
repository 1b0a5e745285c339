"""Shared plotting helpers: matplotlib is an optional dependency."""

from __future__ import annotations

import numpy as np


def pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in [dev]
        raise ImportError(
            'skdrop\'s Displays need matplotlib: pip install "skdrop[report]" '
            "(or pip install matplotlib)"
        ) from exc
    return plt


def axes_array(ax, n: int, *, figsize: tuple[float, float]):
    """``n`` Axes: new ones side by side for None, else the ones given."""
    plt = pyplot()
    if ax is None:
        _, axes = plt.subplots(
            1, n, figsize=figsize, layout="constrained", squeeze=False
        )
        return axes.ravel()
    axes = np.asarray(ax, dtype=object).ravel()
    if axes.size != n:
        raise ValueError(f"ax must hold {n} matplotlib Axes, got {axes.size}")
    return axes
