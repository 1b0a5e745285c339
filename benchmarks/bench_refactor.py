"""Timing ratios of the current code against a baseline commit (issue 26).

A refactor must not cost speed.  This script extracts ``skdrop/`` of a
baseline commit (default: e8dc0b2, the last before the one-engine refactor)
into a temporary folder and times the same fits with both, each in its own
process, interleaved round by round; every figure is a median and every
ratio compares timings of the same run.

* **fit / predict**: ``bench_mlp.py``'s setting, ``make_classification(20000,
  50)`` as float32, layers (256, 128), 20 epochs, batch 128, hidden dropout
  0.5; ``predict_proba`` on the 20,000 rows (best of 30 calls).
* **CV A**: ``bench_mlp_cv.py``'s setting A, ``DropoutMLPClassifierCV`` on
  ``make_classification(5000, 20)``, (100,), 3 x 4 rates x 5 folds (60
  members), 50 epochs.

Run with ``python benchmarks/bench_refactor.py [--rounds 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(2)
warnings.simplefilter("ignore")
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold
import skdrop
from skdrop import DropoutMLPClassifier, DropoutMLPClassifierCV
quick = sys.argv[1] == "quick"
out = {"where": skdrop.__file__}

def timed(fn):
    began = time.perf_counter(); fn(); return time.perf_counter() - began

X, y = make_classification(20000, 50, n_informative=20, random_state=0)
X = X.astype(np.float32)
common = dict(batch_size=128, learning_rate_init=1e-3, n_iter_no_change=10**6,
              random_state=0)
DropoutMLPClassifier(hidden_layer_sizes=(256, 128), max_iter=1,
                     **common).fit(X[:2000], y[:2000])  # warm-up
model = DropoutMLPClassifier(hidden_layer_sizes=(256, 128), hidden_dropout=0.5,
                             max_iter=2 if quick else 20, **common)
out["fit"] = timed(lambda: model.fit(X, y))
out["predict_proba"] = min(timed(lambda: model.predict_proba(X)) for _ in range(30))
X, y = make_classification(5000, 20, n_informative=10, random_state=0)
X = X.astype(np.float32)
folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
cv = DropoutMLPClassifierCV(
    hidden_layer_sizes=(100,), batch_size="auto", max_iter=5 if quick else 50,
    n_iter_no_change=10**6, random_state=0, input_dropouts=(0.0, 0.1, 0.2),
    hidden_dropouts=(0.0, 0.1, 0.3, 0.5), cv=folds, refit="ensemble")
out["cv_a"] = timed(lambda: cv.fit(X, y))
print(json.dumps(out))
"""


def baseline_tree(commit: str, into: Path) -> Path:
    """``skdrop/`` of ``commit``, extracted under ``into``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "skdrop"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    tar = into / "baseline.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as fh:
        fh.extractall(into, filter="data")
    return into


def run(tree: Path, quick: bool) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "quick" if quick else "full"],
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures.pop("where").startswith(str(tree)), "imported the wrong skdrop"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="e8dc0b2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="few epochs, 1 round")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    times: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"old": baseline_tree(args.baseline, Path(tmp)), "new": ROOT}
        began = time.perf_counter()
        for r in range(rounds):
            for which in ("old", "new") if r % 2 == 0 else ("new", "old"):
                for key, value in run(trees[which], args.quick).items():
                    times[which].setdefault(key, []).append(value)
            print(f"round {r + 1}/{rounds} ({time.perf_counter() - began:.0f} s)")
    med = {w: {k: statistics.median(v) for k, v in t.items()} for w, t in times.items()}
    print(f"baseline {args.baseline}, median of {rounds} interleaved rounds")
    for key in med["old"]:
        ratio = med["new"][key] / med["old"][key]
        print(
            f"  {key:15s} old {med['old'][key]:8.3f} s   new {med['new'][key]:8.3f} s"
            f"   new/old {ratio:5.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"times": times, "medians": med}))


if __name__ == "__main__":
    main()
