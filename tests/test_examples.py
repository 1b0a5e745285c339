"""Every example under examples/ runs (the "test" size, Agg backend)."""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


def test_examples_exist():
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch, capsys):
    monkeypatch.setenv("SKDROP_EXAMPLE_SIZE", "test")
    runpy.run_path(str(path), run_name="__main__")
    assert plt.get_fignums(), "an example should draw at least one figure"
    plt.close("all")
    assert capsys.readouterr().out
