"""Metrics of predictive distributions and intervals, in scikit-learn's
style: ``metric(y_true, ..., sample_weight=None)`` returns the weighted mean
over rows (and outputs); :class:`IntervalCalibrationDisplay` plots the observed
coverage of Gaussian intervals against their nominal coverage."""

from ._interval_calibration import IntervalCalibrationDisplay
from ._uncertainty import (
    crps_gaussian,
    gaussian_nll,
    interval_coverage,
    mc_gaussian_nll,
    mean_interval_width,
)

__all__ = [
    "IntervalCalibrationDisplay",
    "crps_gaussian",
    "gaussian_nll",
    "interval_coverage",
    "mc_gaussian_nll",
    "mean_interval_width",
]
