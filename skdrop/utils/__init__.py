"""Utilities every layer of skdrop may import.

Input checks, categorical encoding, devices and random generators, version
stamps of saved estimators, progress bars, the L-BFGS driver, the search
results builder and plotting helpers.  Nothing here imports another skdrop
package except :mod:`skdrop.exceptions`; the names below are the declared
API that the engine, the estimators, inspection, metrics and the report use.
"""

from ._categorical import (
    CategoricalEncoder,
    encoded_groups,
    is_categorical_dtype,
    one_hot_groups,
    validate_X,
    validate_X_y,
)
from ._deprecation import (
    DEPRECATED,
    DEPRECATED_OPTION,
    is_unset,
    renamed_arguments,
    renamed_attribute,
    renamed_entry,
    renamed_function,
    renamed_parameter,
    renamed_parameters,
)
from ._devices import (
    check_device_name,
    float_dtype,
    is_out_of_memory,
    loading_device,
    make_generator,
    out_of_memory_error,
    resolve_device,
)
from ._optimize import minimize_lbfgs
from ._persistence import VersionedStateMixin
from ._plotting import (
    axes_array,
    pyplot,
)
from ._progress import (
    Progress,
    loss_progress,
    progress_bar,
)
from ._search import (
    ERROR_SCORE_CONSTRAINT,
    SearchScoreMixin,
    best_candidate,
    cv_results,
    score_or_error_score,
    scorer_knowing_classes,
    warn_or_raise_fit_failures,
)
from ._validation import (
    atomic_fit,
    check_dropout_grid,
    check_magnitude,
    column_position,
    group_labels,
    numeric_target,
    parse_memory_size,
    resolve_batch_size,
    resolve_feature_groups,
    scoring_name,
    seed_from_random_state,
    set_params_of_init,
)

__all__ = [
    "DEPRECATED",
    "DEPRECATED_OPTION",
    "ERROR_SCORE_CONSTRAINT",
    "CategoricalEncoder",
    "Progress",
    "SearchScoreMixin",
    "VersionedStateMixin",
    "atomic_fit",
    "axes_array",
    "best_candidate",
    "check_device_name",
    "check_dropout_grid",
    "check_magnitude",
    "column_position",
    "cv_results",
    "encoded_groups",
    "float_dtype",
    "group_labels",
    "is_categorical_dtype",
    "is_out_of_memory",
    "is_unset",
    "loading_device",
    "loss_progress",
    "make_generator",
    "minimize_lbfgs",
    "numeric_target",
    "one_hot_groups",
    "out_of_memory_error",
    "parse_memory_size",
    "progress_bar",
    "pyplot",
    "renamed_arguments",
    "renamed_attribute",
    "renamed_entry",
    "renamed_function",
    "renamed_parameter",
    "renamed_parameters",
    "resolve_batch_size",
    "resolve_device",
    "resolve_feature_groups",
    "score_or_error_score",
    "scorer_knowing_classes",
    "scoring_name",
    "seed_from_random_state",
    "set_params_of_init",
    "validate_X",
    "validate_X_y",
    "warn_or_raise_fit_failures",
]
