"""Metrics of predictive distributions and intervals, in scikit-learn's
form: ``metric(y_true, y_mean, y_std, *, sample_weight=None,
multioutput="uniform_average")`` (or ``y_lower, y_upper``) returns the
weighted mean over rows, averaged over outputs as ``multioutput`` asks;
:class:`IntervalCalibrationDisplay` plots the observed coverage of Gaussian
intervals against their nominal coverage."""

from ..utils import renamed_function
from ._interval_calibration import IntervalCalibrationDisplay
from ._uncertainty import (
    gaussian_crps,
    gaussian_nll,
    interval_coverage,
    mc_gaussian_nll,
    mean_interval_width,
)

#: The 0.2 name of :func:`gaussian_crps`, until 0.4.
crps_gaussian = renamed_function(gaussian_crps, "crps_gaussian")

__all__ = [
    "IntervalCalibrationDisplay",
    "gaussian_crps",
    "gaussian_nll",
    "interval_coverage",
    "mc_gaussian_nll",
    "mean_interval_width",
]
