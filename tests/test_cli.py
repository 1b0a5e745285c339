"""The skdrop command line."""

from __future__ import annotations

import json
import subprocess
import sys
from html import escape

import numpy as np
import pandas as pd
import pytest

from skdrop._report._baselines import _LOGISTIC_QUICK_RATES
from skdrop._report._cli import main


def test_ridge_demo_prints_comparison_table(capsys):
    assert main(["ridge-demo"]) == 0
    out = capsys.readouterr().out
    assert "diabetes (442 rows, 10 features)" in out
    assert "max|w - w_ridge|" in out
    assert "DropoutLinearRegressionCV" in out and "RidgeCV" in out
    # The ridge column shows round-off differences only.
    diffs = [float(line.split()[-1]) for line in out.splitlines()[4:12]]
    assert len(diffs) == 8 and max(diffs) < 1e-6


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_module_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "skdrop", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip()


def _table(kind, n=90, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "weight": rng.normal(size=n) * 10 + 50,
            "color": rng.choice(["red", "green", "blue"], size=n),
            "noise": rng.normal(size=n),
        }
    )
    frame.loc[::7, "weight"] = np.nan
    frame.loc[::11, "color"] = None
    signal = frame["size"] + (frame["color"] == "red") * 1.5
    if kind == "classification":
        frame["label"] = np.where(signal > 0.3, "yes", "no")
    else:
        frame["label"] = signal + 0.1 * rng.normal(size=n)
    return frame


def _analyze_args(csv, out, *extra):
    return [
        "analyze",
        str(csv),
        "--target",
        "label",
        "--quick",
        "--cv",
        "3",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_analyze_end_to_end(kind, tmp_path, capsys):
    csv = tmp_path / "table.csv"
    _table(kind).to_csv(csv, index=False)
    out = tmp_path / "report"
    code = main(_analyze_args(csv, out))
    assert code == 0
    printed = capsys.readouterr().out
    assert "chosen rates" in printed and "mean CV" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == kind
    assert results["categorical_columns"] == ["color"]
    chosen = results["chosen"]
    assert chosen["input_dropout"] in results["grid"]["input_dropout"]
    assert chosen["hidden_dropout"] in results["grid"]["hidden_dropout"]
    grid = np.array(results["grid"]["mean_cv_score"])
    assert grid.shape == (2, 2) and chosen["cv_score"] == pytest.approx(grid.max())
    assert "dropout MLP (best rates)" in results["scores"]
    # Two networks, two scikit-learn baselines and the dropout linear model.
    assert len(results["scores"]) == 5
    linear = (
        "DropoutLogisticRegressionCV"
        if kind == "classification"
        else "DropoutLinearRegressionCV"
    )
    assert linear in results["scores"]
    assert set(results["importances"]) == {"size", "weight", "color", "noise"}
    importances = results["importances"]
    # The signal is in size and color; noise carries nothing.
    assert importances["size"]["mean"] > importances["noise"]["mean"]
    # Each importance has its interval, and the noise column's covers 0.
    assert results["importance_confidence_level"] == 0.95
    for row in importances.values():
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]
        assert row["distinguishable"] == (row["ci_low"] > 0 or row["ci_high"] < 0)
    assert not importances["noise"]["distinguishable"]
    # The summary and the report say which importances are not (here, on 90
    # rows and 3 splits, possibly none is).
    sentence = printed.splitlines()[-2]  # the line before "wrote ..."
    assert "noise" in sentence or sentence.startswith("No column's importance")
    assert "distinguishable from 0" in sentence
    html = (out / "report.html").read_text()
    assert "<th>95% interval</th>" in html
    assert "<th>distinguishable from 0</th>" in html
    assert f"<p>{escape(sentence)}</p>" in html
    # The interval calibration figure is the regression's sixth.
    assert html.count("data:image/png;base64,") == (6 if kind == "regression" else 5)
    # Learned input dropout beside the importances, column by column.
    relevance = results["learned_relevance"]
    assert set(relevance["keep_probability"]) == set(importances)
    assert all(0 < k < 1 for k in relevance["keep_probability"].values())
    assert -1 <= relevance["spearman"] <= 1
    assert set(relevance["ranked_far_apart"]) <= set(importances)
    assert "<h2>What learned input dropout says</h2>" in html
    if kind == "regression":
        ridge = results["ridge_comparison"]
        assert ridge["max_abs_coef_diff_positive_rates"] < 1e-8
        assert results["logistic_comparison"] is None
        assert "<h2>Dropout against ridge</h2>" in html
        # The chosen network's 90% intervals, measured on held-out rows (the
        # first split's test rows in quick mode), in the results and the report.
        intervals = results["prediction_intervals"]
        assert intervals["n_splits"] == 1 and 0 < intervals["n_held_out"] < 90
        coverage = [intervals["levels"][k]["coverage"] for k in ("0.5", "0.9", "0.95")]
        assert all(0 <= c <= 1 for c in coverage) and coverage == sorted(coverage)
        assert intervals["levels"]["0.9"]["mean_width"] > 0
        assert "<h2>How sure is the chosen network?</h2>" in html
        line = next(x for x in printed.splitlines() if "prediction intervals" in x)
        assert f"<p>{escape(line)}</p>" in html
    else:
        assert results["prediction_intervals"] is None
        assert "How sure is the chosen network?" not in html
        assert "prediction intervals" not in printed
        assert results["ridge_comparison"] is None
        logistic = results["logistic_comparison"]
        assert logistic["scoring"] == "neg_log_loss"
        assert logistic["best_dropout"] in _LOGISTIC_QUICK_RATES
        assert logistic["l2cv_equivalent_dropout"] in _LOGISTIC_QUICK_RATES
        matched = logistic["matched_C"]
        assert logistic["l2cv_C"] == matched[str(logistic["l2cv_equivalent_dropout"])]
        assert "<h2>Dropout against L2 logistic regression</h2>" in html
    # No temporary file left; the hidden marker says skdrop wrote the folder.
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert hidden == [".skdrop-report"]


@pytest.fixture
def svg_backend():
    """The process on another backend than the tests' Agg, restored after."""
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    yield
    matplotlib.use(before)


def test_analyze_leaves_the_matplotlib_backend_alone(svg_backend, monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from skdrop._report._analyze import analyze

    def no_switch(*args, **kwargs):
        raise AssertionError("analyze() switched the matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", no_switch)
    open_before = plt.get_fignums()
    analysis = analyze(
        _table("regression", n=60), "label", cv=2, quick=True, progress=False
    )
    assert matplotlib.get_backend() == "svg"
    assert plt.get_fignums() == open_before  # no figure went through pyplot
    assert len(analysis.figures) == 6  # with the interval calibration
    assert "Prediction interval calibration" in analysis.figures
    assert all(type(f) is Figure for f in analysis.figures.values())
    # The gaps in the results are those of the networks' own loss curves.
    assert len(analysis.gaps) == 2 and "no dropout" in analysis.gaps
    assert all(np.isfinite(g) for g in analysis.gaps.values())


def _run_cli(args, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "skdrop", *args, "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
    )
    return done, out


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such file"),
        ("no_target", "no column 'label' in the table"),
        ("empty", "is empty"),
        ("one_class", "has one class"),
        ("garbage", "not a readable CSV file"),
        ("header_only", "the table is empty"),
    ],
)
def test_analyze_bad_input_exits_2_without_traceback(case, message, tmp_path):
    csv = tmp_path / "table.csv"
    if case == "no_target":
        _table("classification").drop(columns="label").to_csv(csv, index=False)
    elif case == "empty":
        csv.write_text("")
    elif case == "one_class":
        _table("classification").assign(label="yes").to_csv(csv, index=False)
    elif case == "garbage":
        csv.write_bytes(b"a,b\n1,2\n\xff\xfe\x00,\x81\n")
    elif case == "header_only":
        csv.write_text("size,label\n")
    path = str(csv if case != "missing" else tmp_path / "absent.csv")
    done, out = _run_cli(["analyze", path, "--target", "label", "--quick"], tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("skdrop: error:") and message in lines[0]
    assert not out.exists()


# What `pip install skdrop` gives: everything but the `report` extra.
_MISSING_MATPLOTLIB = 'pip install "skdrop[report]"'


def test_analyze_without_matplotlib_names_the_extra(tmp_path, monkeypatch, capsys):
    csv = tmp_path / "table.csv"
    _table("classification").to_csv(csv, index=False)
    out = tmp_path / "report"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    code = main(["analyze", str(csv), "--target", "label", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "skdrop: error: skdrop analyze needs matplotlib for its report: "
        + _MISSING_MATPLOTLIB
    ]
    assert not out.exists()


def test_demo_without_matplotlib_exits_2_in_one_line(tmp_path):
    # A fresh process, so that nothing skdrop imports before the check may
    # need matplotlib either.
    out = tmp_path / "demo"
    script = (
        "import sys; sys.modules['matplotlib'] = None; "
        "from skdrop._report._cli import main; raise SystemExit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "demo", "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "skdrop: error: skdrop demo needs matplotlib for its report: "
        + _MISSING_MATPLOTLIB
    ]
    assert done.stdout == "" and not out.exists()


def _rows(**distinguishable):
    return {
        name: {
            "mean": 0.1 * k,
            "std": 0.01,
            "ci_low": 0.0,
            "ci_high": 0.2,
            "distinguishable": flag,
        }
        for k, (name, flag) in enumerate(distinguishable.items())
    }


@pytest.mark.parametrize(
    "flags, sentence",
    [
        (
            {"a": True, "b": False, "c": False, "d": False},
            "The importances of d, c and b are not distinguishable from 0: their "
            "90% intervals cover 0.",
        ),
        (
            {"a": False, "b": True},
            "The importance of a is not distinguishable from 0: its 90% interval "
            "covers 0.",
        ),
        (
            {"a": True, "b": True},
            "Every column's importance is distinguishable from 0 (90% interval).",
        ),
        (
            {"a": False, "b": False},
            "No column's importance is distinguishable from 0: every 90% interval "
            "covers 0.",
        ),
    ],
)
def test_report_names_the_importances_indistinguishable_from_zero(flags, sentence):
    from types import SimpleNamespace

    from skdrop._report._html import indistinguishable_sentence

    analysis = SimpleNamespace(
        importances=_rows(**flags), importance_confidence_level=0.9
    )
    assert indistinguishable_sentence(analysis) == sentence


def test_analyze_sep_exclude_and_rows_without_target(tmp_path, capsys):
    """``--sep ';'`` reads the table, ``--exclude`` leaves an ID column out
    of the study, the rows without a target are counted, and a second run
    replaces the report skdrop wrote."""
    csv, out = tmp_path / "table.csv", tmp_path / "report"
    frame = _table("classification").assign(row_id=np.arange(90))
    frame.loc[[3, 50], "label"] = None
    frame.to_csv(csv, index=False, sep=";")
    assert main(_analyze_args(csv, out, "--sep", ";", "--exclude", "row_id")) == 0
    printed = capsys.readouterr().out
    assert "dropped 2 of 90 rows with no value for the target 'label'" in printed
    results = json.loads((out / "results.json").read_text())
    assert set(results["importances"]) == {"size", "weight", "color", "noise"}
    # skdrop's own folder: replaced without --force.
    assert main(_analyze_args(csv, out, "--sep", ";", "--exclude", "row_id")) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--exclude", "nope"], "--exclude names no column of the table: ['nope']"),
        (["--exclude", "label"], "--exclude names the target 'label'"),
    ],
)
def test_analyze_bad_exclude_is_a_usage_error(extra, message, tmp_path, capsys):
    csv = tmp_path / "table.csv"
    _table("classification").to_csv(csv, index=False)
    assert main(_analyze_args(csv, tmp_path / "out", *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_analyze_refuses_a_folder_of_other_files(tmp_path, capsys):
    """A non-empty --out that skdrop did not write is refused, and nothing in
    it is touched; --force writes the report beside those files."""
    csv, out = tmp_path / "table.csv", tmp_path / "mine"
    _table("classification").to_csv(csv, index=False)
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(_analyze_args(csv, out)) == 2
    assert "already holds files skdrop did not write (notes.txt)" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert main(_analyze_args(csv, out, "--force")) == 0
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "report.html").is_file()
