"""The fitted models behind an estimator that inspection reads: a CV
ensemble's fold networks, a search's refitted model, or the estimator."""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted


def fitted_members(model) -> list:
    """The fitted models whose learned state describes ``model``.

    * A search kept as an ensemble (``refit="ensemble"`` of
      :class:`~skdrop.DropoutMLPClassifierCV` and
      :class:`~skdrop.DropoutMLPRegressorCV`): its fold networks,
      ``estimators_``, in fold order.
    * A search with ``refit=True``: its ``best_estimator_``.
    * Anything else, the linear CV estimators included (each refits one
      model on every row): ``[model]``.

    A search fitted with ``refit=False`` kept no model: a ``ValueError``.
    """
    check_is_fitted(model)
    if hasattr(model, "cv_results_") and hasattr(model, "estimators_"):
        return list(model.estimators_)
    if hasattr(model, "best_estimator_"):
        return [model.best_estimator_]
    if getattr(model, "refit", None) is False:
        raise ValueError(
            f"{type(model).__name__} was fitted with refit=False: it scored its "
            "grid but kept no fitted model to inspect; fit it with "
            "refit='ensemble' or refit=True"
        )
    return [model]
