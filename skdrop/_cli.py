"""The ``skdrop`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold, cross_val_score

from ._linear import DropoutLinearRegression, DropoutLinearRegressionCV
from ._version import __version__

_DEMO_RATES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def _demo(args: argparse.Namespace) -> int:
    """Dropout linear regression against Ridge on the diabetes data."""
    X, y = load_diabetes(return_X_y=True)
    n_samples, n_features = X.shape
    cv = KFold(5, shuffle=True, random_state=args.seed)
    # Ridge on columns scaled by their uncentered root sum of squares, with
    # alpha = p / (1 - p), is the same model as input dropout at rate p.
    scale = np.sqrt((X**2).sum(axis=0))
    print(
        f"skdrop {__version__} demo: diabetes ({n_samples} rows, "
        f"{n_features} features), {cv.get_n_splits()}-fold CV R^2\n"
    )
    header = f"{'dropout':>8} {'lam':>8} {'CV R^2':>8} {'max|w - w_ridge|':>17}"
    print(header)
    print("-" * len(header))
    for p in _DEMO_RATES:
        model = DropoutLinearRegression(dropout=p).fit(X, y)
        lam = p / (1 - p)
        ridge = Ridge(alpha=lam, solver="cholesky").fit(X / scale, y)
        diff = np.max(np.abs(model.coef_ - ridge.coef_ / scale))
        score = cross_val_score(DropoutLinearRegression(dropout=p), X, y, cv=cv)
        print(f"{p:8.2f} {lam:8.3f} {score.mean():8.4f} {diff:17.2e}")

    search = DropoutLinearRegressionCV(dropouts=np.linspace(0, 0.95, 39)).fit(X, y)
    ridge_cv = RidgeCV(alphas=np.logspace(-4, 2, 61)).fit(X / scale, y)
    dropout_score = cross_val_score(
        DropoutLinearRegression(dropout=search.dropout_), X, y, cv=cv
    ).mean()
    ridge_score = cross_val_score(
        Ridge(alpha=ridge_cv.alpha_), X / scale, y, cv=cv
    ).mean()
    print(
        "\nchosen by exact leave-one-out:\n"
        f"  DropoutLinearRegressionCV  dropout = {search.dropout_:.3f}"
        f"  (lam = {search.dropout_ / (1 - search.dropout_):.4f})"
        f"  CV R^2 = {dropout_score:.4f}\n"
        f"  RidgeCV on scaled columns  alpha   = {ridge_cv.alpha_:.4f}"
        f"                  CV R^2 = {ridge_score:.4f}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skdrop",
        description="Dropout-regularized scikit-learn estimators.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="compare DropoutLinearRegression with Ridge on a bundled dataset"
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the CV splits")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("skdrop: interrupted", file=sys.stderr)
        return 130
