"""Inspection tools: dropout against ridge, feature-ablation importance, plots."""

from ._ablation import ablation_importance
from ._ablation_display import AblationImportanceDisplay
from ._loss_curve_display import LossCurveDisplay
from ._loss_curves import loss_curves
from ._ridge_comparison import compare_with_ridge
from ._ridge_display import RidgeComparisonDisplay

__all__ = [
    "AblationImportanceDisplay",
    "LossCurveDisplay",
    "RidgeComparisonDisplay",
    "ablation_importance",
    "compare_with_ridge",
    "loss_curves",
]
