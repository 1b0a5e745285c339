"""Metrics of predictive distributions and intervals, in scikit-learn's
style: ``metric(y_true, ..., sample_weight=None)`` returns the weighted mean
over rows (and outputs)."""

from ._uncertainty import (
    crps_gaussian,
    gaussian_nll,
    interval_coverage,
    mc_gaussian_nll,
    mean_interval_width,
)

__all__ = [
    "crps_gaussian",
    "gaussian_nll",
    "interval_coverage",
    "mc_gaussian_nll",
    "mean_interval_width",
]
