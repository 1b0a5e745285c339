"""The skdrop command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skdrop._cli import main


def test_demo_prints_comparison_table(capsys):
    assert main(["demo"]) == 0
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
