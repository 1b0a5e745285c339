"""The result files of the benchmarks, included by the docs' Benchmarks page.

Each table a benchmark reports is written to
``docs/benchmarks_results/<name>.inc``: a reStructuredText fragment with its
title, the command that produced it, the date of the run (UTC) and the
machine, then the table.  ``docs/benchmarks.rst`` includes these files, so a
new run updates the page; a ``--quick`` run writes nothing.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent.parent / "docs" / "benchmarks_results"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("\n", " ") or "\\-"


def write_results(
    name: str,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence],
    *,
    notes: str = "",
) -> Path:
    """Write one table to ``docs/benchmarks_results/<name>.inc``."""
    script = os.path.relpath(sys.argv[0], RESULTS_DIR.parent.parent)
    command = shlex.join(["python", script, *sys.argv[1:]])
    machine = f"{os.cpu_count()} CPU cores, {platform.machine()}, {platform.system()}"
    lines = [
        f".. Written by {script}; a new run replaces this file.",
        "",
        f".. rubric:: {title}",
        "",
        f":Command: ``{command}``",
        f":Run: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d} (UTC)",
        f":Machine: {machine}",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    for row in [header, *rows]:
        cells = [_cell(value) for value in row]
        lines.append(f"   * - {cells[0]}")
        lines.extend(f"     - {cell}" for cell in cells[1:])
    if notes:
        lines += ["", notes]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.inc"
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")
    return path


def write_figures(name: str, title: str, figures: dict, *, notes: str = "") -> Path:
    """Write a benchmark's flat ``{figure: value}`` dict as a two-column table."""
    rows = []

    def flatten(prefix, value):
        if isinstance(value, dict):
            for key, item in value.items():
                flatten(f"{prefix} {key}".strip(), item)
        else:
            rows.append((prefix, value))

    flatten("", figures)
    return write_results(name, title, ["figure", "value"], rows, notes=notes)


def write_records(name: str, title: str, records: list, *, notes: str = "") -> Path:
    """Write a list of same-keyed dicts as a table, one row per dict."""
    header = list(records[0]) if records else ["(no results)"]
    rows = [[record.get(key, "") for key in header] for record in records]
    return write_results(name, title, header, rows, notes=notes)
