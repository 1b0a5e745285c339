"""The package layout is the architecture: imports flow one way.

Each package of skdrop has a rank; a module imports only from its own
package or from packages of lower rank, and across packages only through
the other package's declared API (its ``__init__``) or its public modules.
The torch engine imports no scikit-learn.  ``docs/developers/architecture.rst``
draws the same picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "skdrop"

# Lower ranks are imported by higher ones, never the other way round.
RANKS = {
    "skdrop._version": 0,
    "skdrop.exceptions": 0,
    "skdrop.utils": 1,
    "skdrop.datasets": 1,
    "skdrop._engine": 2,
    "skdrop.linear_model": 3,
    "skdrop.neural_network": 3,
    "skdrop.metrics": 4,
    "skdrop.inspection": 4,
    "skdrop._report": 5,
    "skdrop": 6,
}
TORCH_ONLY = "skdrop._engine"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    """The package (of RANKS) a module belongs to: a subpackage or a module
    of the root; a subpackage RANKS does not know is an error."""
    parts = module.split(".")
    name = ".".join(parts[:2])
    if name in RANKS:
        return name
    if len(parts) > 1 and (ROOT / parts[1]).is_dir():
        raise AssertionError(f"{module} belongs to no package of RANKS")
    return "skdrop"


def _imports(path: Path):
    """``(imported module, names)`` of every import in a file, resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


FILES = sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_flow_one_way(path):
    here = _package(_module_name(path))
    for target, names in _imports(path):
        if not target.startswith("skdrop"):
            continue
        if target == "skdrop" and names:
            # ``from . import utils`` in the root package: subpackages.
            target = f"skdrop.{names[0]}"
        there = _package(target)
        if there == here:
            continue
        assert RANKS[there] < RANKS[here], f"{here} imports {target} (higher)"
        private = [p for p in target[len(there) :].split(".") if p.startswith("_")]
        assert not private, f"{here} imports the private module {target}"
        assert not [n for n in names if n.startswith("_") and not n.endswith("__")], (
            f"{here} imports private names {names} of {target}"
        )


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if _package(_module_name(p)) == TORCH_ONLY],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_engine_imports_no_scikit_learn(path):
    for target, _ in _imports(path):
        assert not target.startswith(("sklearn", "pandas")), f"{path} imports {target}"


def test_every_module_belongs_to_a_package():
    for path in FILES:
        _package(_module_name(path))
    # No flat private modules beside the packages, apart from these.
    flat = {p.name for p in ROOT.glob("*.py")}
    assert flat <= {"__init__.py", "__main__.py", "_version.py", "exceptions.py"}


def test_subpackages_export_what_the_root_exports():
    """``from skdrop import X`` and ``from skdrop.<subpackage> import X`` are
    the same class; every public estimator has one subpackage."""
    import skdrop
    from skdrop import linear_model, neural_network

    homes = {name: linear_model for name in linear_model.__all__}
    homes.update({name: neural_network for name in neural_network.__all__})
    estimators = [n for n in skdrop.__all__ if n.startswith("Dropout")]
    assert sorted(homes) == sorted(estimators)
    for name, package in homes.items():
        assert getattr(package, name) is getattr(skdrop, name)
        assert getattr(skdrop, name).__module__.startswith(package.__name__)


def test_old_module_names_resolve_to_the_same_classes():
    """What pickles of the flat layout name (tests/test_saved_models.py
    loads such files)."""
    import importlib

    import skdrop

    old = {
        "skdrop._mlp_classifier": ["DropoutMLPClassifier"],
        "skdrop._mlp_regressor": ["DropoutMLPRegressor"],
        "skdrop._mlp_cv": ["DropoutMLPClassifierCV", "DropoutMLPRegressorCV"],
        "skdrop._linear": ["DropoutLinearRegression", "DropoutLinearRegressionCV"],
        "skdrop._logistic": [
            "DropoutLogisticRegression",
            "DropoutLogisticRegressionCV",
        ],
    }
    for module, names in old.items():
        for name in names:
            assert getattr(importlib.import_module(module), name) is getattr(
                skdrop, name
            )
    # 0.2 defined the linear search beside the plain estimator.
    linear = importlib.import_module("skdrop.linear_model._linear")
    assert linear.DropoutLinearRegressionCV is skdrop.DropoutLinearRegressionCV
    encoder = importlib.import_module("skdrop._categorical").CategoricalEncoder
    assert encoder.__module__ == "skdrop.utils._categorical"
