"""Inspection tools: dropout against ridge and against L2 logistic regression,
feature-ablation importance, learned dropout relevance, Monte Carlo
uncertainty of classifiers, plots."""

from ._ablation import ablation_importance
from ._ablation_display import AblationImportanceDisplay
from ._logistic_comparison import compare_with_logistic
from ._loss_curve_display import LossCurveDisplay
from ._loss_curves import loss_curves
from ._relevance import dropout_relevance
from ._relevance_display import DropoutRelevanceDisplay
from ._ridge_comparison import compare_with_ridge
from ._ridge_display import RidgeComparisonDisplay
from ._uncertainty import predictive_uncertainty

__all__ = [
    "AblationImportanceDisplay",
    "DropoutRelevanceDisplay",
    "LossCurveDisplay",
    "RidgeComparisonDisplay",
    "ablation_importance",
    "compare_with_logistic",
    "compare_with_ridge",
    "dropout_relevance",
    "loss_curves",
    "predictive_uncertainty",
]
