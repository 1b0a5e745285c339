"""The ``skdrop`` command line."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold, cross_val_score

from .._version import __version__
from ..linear_model import DropoutLinearRegression, DropoutLinearRegressionCV

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
        model = DropoutLinearRegression(input_dropout=p).fit(X, y)
        lam = p / (1 - p)
        ridge = Ridge(alpha=lam, solver="cholesky").fit(X / scale, y)
        diff = np.max(np.abs(model.coef_ - ridge.coef_ / scale))
        score = cross_val_score(DropoutLinearRegression(input_dropout=p), X, y, cv=cv)
        print(f"{p:8.2f} {lam:8.3f} {score.mean():8.4f} {diff:17.2e}")

    search = DropoutLinearRegressionCV(input_dropouts=np.linspace(0, 0.95, 39))
    rate = search.fit(X, y).best_params_["input_dropout"]
    ridge_cv = RidgeCV(alphas=np.logspace(-4, 2, 61)).fit(X / scale, y)
    dropout_score = cross_val_score(
        DropoutLinearRegression(input_dropout=rate), X, y, cv=cv
    ).mean()
    ridge_score = cross_val_score(
        Ridge(alpha=ridge_cv.alpha_), X / scale, y, cv=cv
    ).mean()
    print(
        "\nchosen by exact leave-one-out:\n"
        f"  DropoutLinearRegressionCV  dropout = {rate:.3f}"
        f"  (lam = {rate / (1 - rate):.4f})"
        f"  CV R^2 = {dropout_score:.4f}\n"
        f"  RidgeCV on scaled columns  alpha   = {ridge_cv.alpha_:.4f}"
        f"                  CV R^2 = {ridge_score:.4f}"
    )
    return 0


class _UsageError(Exception):
    """A bad command line or input file: one line to stderr, exit code 2."""


def _require_matplotlib(command: str) -> None:
    """Fail early, in one line, where the report's plotting library is missing.

    matplotlib is optional (the ``report`` extra), like in scikit-learn: the
    estimators do not need it, only the figures of ``analyze`` and ``demo``.
    """
    if importlib.util.find_spec("matplotlib") is None:
        raise _UsageError(
            f"skdrop {command} needs matplotlib for its report: "
            'pip install "skdrop[report]"'
        )


def _read_table(path: str, sep: str = ","):
    import pandas as pd

    source = Path(path)
    if not source.is_file():
        raise _UsageError(f"no such file: {path}")
    try:
        return pd.read_csv(source, sep=sep)
    except pd.errors.EmptyDataError as exc:
        raise _UsageError(f"{path} is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise _UsageError(f"{path} is not a readable CSV file: {first}") from exc


def _check_out(out: str, force: bool) -> None:
    """Refuse an output folder that holds files skdrop did not write, unless
    ``--force``: a report is never written over someone's files.  A folder
    with skdrop's marker (an earlier report) is replaced."""
    from ._html import REPORT_MARKER

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise _UsageError(f"--out {out} is a file, not a folder")
    if force or not folder.is_dir() or (folder / REPORT_MARKER).is_file():
        return
    found = sorted(p.name for p in folder.iterdir())
    if found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise _UsageError(
            f"--out {out} already holds files skdrop did not write ({shown}); "
            "choose another folder, or pass --force to write the report into it"
        )


def _drop_columns(data, target: str, exclude: Sequence[str]):
    """The table without the ``--exclude`` columns (an ID, a leak)."""
    unknown = [c for c in exclude if c not in data.columns]
    if unknown:
        raise _UsageError(
            f"--exclude names no column of the table: {unknown}; its columns "
            f"are {list(map(str, data.columns))}"
        )
    if target in exclude:
        raise _UsageError(f"--exclude names the target {target!r}")
    return data.drop(columns=list(exclude))


def _run_analysis(data, target, args, title) -> int:
    from ._analyze import AnalysisError, analyze
    from ._html import summary_table, write_report

    if args.cv < 2:
        raise _UsageError(f"--cv must be at least 2, got {args.cv}")
    _check_out(args.out, args.force)
    if target in data.columns and data[target].isna().any():
        missing = int(data[target].isna().sum())
        print(
            f"dropped {missing} of {len(data)} rows with no value for the "
            f"target {target!r}"
        )
    try:
        analysis = analyze(
            data,
            target,
            task=args.task,
            cv=args.cv,
            n_jobs=args.n_jobs,
            quick=args.quick,
            seed=args.seed,
            progress=not args.no_progress,
        )
    except AnalysisError as exc:
        raise _UsageError(str(exc)) from exc
    # The figures are plain Figure objects, outside pyplot: nothing to close.
    written = write_report(analysis, args.out, title)
    print(summary_table(analysis))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    """Dropout study of one CSV file."""
    _require_matplotlib("analyze")
    data = _drop_columns(_read_table(args.data, args.sep), args.target, args.exclude)
    return _run_analysis(data, args.target, args, f"skdrop analysis of {args.data}")


def _demo_analyze(args: argparse.Namespace) -> int:
    """``analyze`` on the bundled Palmer penguins data, in quick mode."""
    from ..datasets import load_penguins

    _require_matplotlib("demo")
    args.quick = True
    print("skdrop demo: which penguin species? (Palmer penguins, 344 rows)")
    return _run_analysis(
        load_penguins(), "species", args, "skdrop demo: Palmer penguins species"
    )


def _add_analysis_options(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto: classification for text, boolean or few-valued integer targets",
    )
    parser.add_argument("--out", default=out, help=f"output folder (default {out})")
    parser.add_argument("--cv", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--n-jobs", type=int, default=None, help="parallel fits")
    parser.add_argument("--seed", type=int, default=0, help="seed of splits and fits")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars on stderr"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into an --out folder that holds other files (only "
        "report.html and results.json are replaced)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skdrop",
        description="Dropout-regularized scikit-learn estimators.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser(
        "analyze",
        help="does dropout help on a CSV table, at which rates, which columns matter",
    )
    analyze.add_argument("data", help="CSV file with a header row")
    analyze.add_argument("--target", required=True, help="the column to predict")
    analyze.add_argument(
        "--quick", action="store_true", help="smaller grid and networks"
    )
    analyze.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="COL",
        help="columns to leave out, such as an ID",
    )
    analyze.add_argument("--sep", default=",", help="the CSV field separator")
    _add_analysis_options(analyze, "skdrop-report")
    analyze.set_defaults(handler=_analyze)
    demo = commands.add_parser(
        "demo", help="analyze the bundled Palmer penguins data (quick mode)"
    )
    _add_analysis_options(demo, "skdrop-demo")
    demo.set_defaults(handler=_demo_analyze, quick=True)
    ridge = commands.add_parser(
        "ridge-demo",
        help="compare DropoutLinearRegression with Ridge on the diabetes data",
    )
    ridge.add_argument("--seed", type=int, default=0, help="seed of the CV splits")
    ridge.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except _UsageError as exc:
        print(f"skdrop: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skdrop: interrupted", file=sys.stderr)
        return 130
