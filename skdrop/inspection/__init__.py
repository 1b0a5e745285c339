"""Inspection tools: dropout against ridge, and feature-ablation importance."""

from ._ablation import ablation_importance
from ._ablation_display import AblationImportanceDisplay
from ._ridge_comparison import compare_with_ridge
from ._ridge_display import RidgeComparisonDisplay

__all__ = [
    "AblationImportanceDisplay",
    "RidgeComparisonDisplay",
    "ablation_importance",
    "compare_with_ridge",
]
