"""Writing an :class:`~skdrop._report._analyze.Analysis`: HTML report, JSON, summary."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import tempfile
from itertools import pairwise
from pathlib import Path

from .._version import __version__


def figure_png(figure) -> str:
    """A figure as base64 PNG, for an ``<img src="data:...">``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def summary_table(analysis) -> str:
    """The scores of every model, best first, as fixed-width text."""
    rows = sorted(analysis.scores.items(), key=lambda kv: -kv[1])
    width = max(len(name) for name, _ in rows)
    lines = [f"{'model':<{width}}  mean CV {analysis.scoring}"]
    lines += [f"{name:<{width}}  {score:.4f}" for name, score in rows]
    best = analysis.best
    lines.append(
        f"chosen rates: input_dropout={best['input_dropout']:g}, "
        f"hidden_dropout={best['hidden_dropout']:g}"
    )
    if getattr(analysis, "intervals", None) is not None:
        lines.append(interval_sentence(analysis))
    top = _by_importance(analysis)[:5]
    lines.append(
        f"most important columns (mean [{_level(analysis)} interval]): "
        + ", ".join(
            f"{name} {row['mean']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
            for name, row in top
        )
    )
    if analysis.relevance is not None:
        keep = analysis.relevance["keep_probability"]
        most = sorted(keep.items(), key=lambda kv: -kv[1])[:5]
        lines.append(
            "learned input keep probability (Spearman "
            f"{analysis.relevance['spearman']:.2f} with the importances): "
            + ", ".join(f"{name} {k:.3f}" for name, k in most)
        )
    lines.append(indistinguishable_sentence(analysis))
    return "\n".join(lines)


def _by_importance(analysis) -> list:
    return sorted(analysis.importances.items(), key=lambda kv: -kv[1]["mean"])


def _level(analysis) -> str:
    return f"{100 * analysis.importance_confidence_level:g}%"


def _join(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def indistinguishable_sentence(analysis) -> str:
    """Which columns' importance the data cannot tell from 0, in words."""
    level = _level(analysis)
    rows = _by_importance(analysis)
    vague = [name for name, row in rows if not row["distinguishable"]]
    if not vague:
        return (
            f"Every column's importance is distinguishable from 0 ({level} interval)."
        )
    if len(vague) == len(rows):
        return (
            f"No column's importance is distinguishable from 0: every {level} "
            "interval covers 0."
        )
    one = len(vague) == 1
    return (
        f"The importance{'' if one else 's'} of {_join(vague)} "
        f"{'is' if one else 'are'} not "
        f"distinguishable from 0: {'its' if one else 'their'} {level} "
        f"interval{'' if one else 's'} cover{'s' if one else ''} 0."
    )


def interval_sentence(analysis) -> str:
    """What the held-out coverage of the 90% intervals says, in words: within
    two binomial standard errors of 90% is calibrated, else over-confident
    (below) or under-confident (above), "slightly" within 5 points."""
    r = analysis.intervals
    n = r["n_held_out"]
    row = r["levels"]["0.9"]
    coverage, width = row["coverage"], row["mean_width"]
    error = 2 * math.sqrt(0.9 * 0.1 / n)
    gap = coverage - 0.9
    noise = f"the +/-{100 * error:.1f}-point sampling error of {n} rows"
    if abs(gap) <= error:
        verdict = f"calibrated, within {noise}"
    else:
        degree = "slightly " if abs(gap) < 0.05 else ""
        kind = "over-confident, too narrow" if gap < 0 else "under-confident, too wide"
        verdict = f"{degree}{kind} (beyond {noise})"
    scale = r["target_std"]
    relative = (
        f", {width / scale:.2f} standard deviations of the target" if scale > 0 else ""
    )
    return (
        f"The 90% prediction intervals of the chosen network covered "
        f"{100 * coverage:.1f}% of {n} held-out rows (mean width {width:.4g}"
        f"{relative}): {verdict}."
    )


def interval_section(analysis) -> str:
    """The held-out coverage of the chosen network's Monte Carlo dropout
    intervals (regression only)."""
    r = getattr(analysis, "intervals", None)
    if r is None:
        return ""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{100 * float(level):g}%</td><td>{100 * row['coverage']:.1f}%"
        f"</td><td>{row['mean_width']:.4g}</td></tr>"
        for level, row in r["levels"].items()
    )
    where = (
        "the training rows of the first CV split (quick mode) and measured on "
        "its test rows, which it never saw"
        if r["n_splits"] == 1
        else f"the training rows of each of the {r['n_splits']} CV splits and "
        "measured on that split's test rows, which it never saw: every row is "
        "held out once"
    )
    best = analysis.best
    if best["input_dropout"] == 0 and best["hidden_dropout"] == 0:
        share = (
            "The chosen network has no dropout, so its passes agree and its "
            "intervals are the estimated noise alone."
        )
    else:
        share = (
            f"Of the predictive variance, {100 * r['model_variance_share']:.0f}% "
            "is the spread of the Monte Carlo passes (the model's "
            "uncertainty), the rest the estimated noise."
        )
    return f"""<h2>How sure is the chosen network?</h2>
<p>Monte Carlo dropout gives the chosen network a predictive distribution:
each row is predicted 50 times with the dropout masks on, and the variance of
those predictions plus the noise variance the network estimated on its
early-stopping validation rows make a Gaussian, whose central intervals are
those of DropoutMLPRegressor.predict_interval.  The network was fitted on
{where}.  An interval of nominal coverage c should hold
the true value in about a share c of the rows: fewer means the intervals are
over-confident (too narrow), more that they are under-confident (too wide).
{share}  Widths are in the units of {esc(analysis.target)}.</p>
<table><tr><th>nominal coverage</th><th>observed coverage</th>
<th>mean width</th></tr>{rows}</table>
<p>{esc(interval_sentence(analysis))}</p>"""


def relevance_section(analysis) -> str:
    """The learned input dropout of each column, beside its importance."""
    relevance = analysis.relevance
    if relevance is None:
        return ""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{relevance['keep_probability'][name]:.3f}"
        f"</td><td>{row['mean']:+.4f}</td></tr>"
        for name, row in _by_importance(analysis)
    )
    apart = relevance["ranked_far_apart"]
    far = (
        f"Ranked far apart by the two (relevant by one, not by the other): "
        f"{esc(_join(apart))}."
        if apart
        else "No column is ranked far apart by the two."
    )
    return f"""<h2>What learned input dropout says</h2>
<p>One more fit of the chosen network with input_dropout="learned" (Concrete
dropout) learns a dropout rate per column: the keep probability 1 - rate is
how much of the column the network can not afford to lose.  Removing a column
(above) and dropping it at random answer different questions: of two
correlated columns, either can be removed at little cost, while dropping
them at random still costs the network.  Spearman correlation with the
importances: {relevance["spearman"]:.2f}.  {far}</p>
<table><tr><th>column</th><th>learned keep probability</th>
<th>importance</th></tr>{rows}</table>"""


def linear_section(analysis) -> str:
    """Dropout in the linear model against its L2 counterpart, in words."""
    esc = html.escape
    if analysis.logistic is not None:
        r = analysis.logistic
        tuned = (
            f"LogisticRegression with C tuned on the same splits (C = "
            f"{r['l2cv_C']:.3g}, the matched strength of rate "
            f"{r['l2cv_equivalent_dropout']:g}) scored {r['l2cv_score']:.4f}"
            if r["l2cv_C"] == r["l2cv_C"]  # not NaN
            else "no L2 strength could be tuned"
        )
        matched = [
            c for _, c in sorted((float(p), c) for p, c in r["matched_C"].items())
        ]
        monotone = all(a >= b for a, b in pairwise(matched))
        caveat = (
            ""
            if monotone
            else " Here the matched strength does not grow with the rate: at "
            "some rates the fit is so confident that the adaptive penalty "
            "(which vanishes where the probabilities are near 0 or 1) is "
            "almost nothing."
        )
        return f"""<h2>Dropout against L2 logistic regression</h2>
<p>On the one-hot encoded table, dropout logistic regression (the Gaussian
"fast dropout" objective) at its best rate p = {r["best_dropout"]:g} scored
{r["best_dropout_score"]:.4f} (mean CV {esc(r["scoring"])}); {tuned}.  To second
order, dropout is an L2 penalty whose weight on each feature follows the
fitted probabilities (Wager et al.); the figure sets each rate beside a
LogisticRegression on standardized columns with the same total penalty (the
same trace of the penalty's curvature).  Scored by log loss here, as the
penalty mostly sets how confident the probabilities are.{caveat}</p>"""
    if analysis.ridge is not None:
        r = analysis.ridge
        return f"""<h2>Dropout against ridge</h2>
<p>For linear regression, input dropout is exactly a ridge on rescaled
columns.  Best dropout rate p = {r["best_dropout"]:g}: mean CV
{esc(analysis.scoring)} {r["best_dropout_score"]:.4f}; RidgeCV on standardized
columns chose alpha = {r["ridgecv_alpha"]:.3g} (the total penalty of rate
{r["ridgecv_equivalent_dropout"]:.3g}): {r["ridgecv_score"]:.4f}.</p>"""
    return ""


def render_html(analysis, title: str) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{score:.4f}</td></tr>"
        for name, score in sorted(analysis.scores.items(), key=lambda kv: -kv[1])
    )
    importances = "".join(
        f"<tr><td>{esc(name)}</td><td>{row['mean']:+.4f}</td>"
        f"<td>[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]</td>"
        f"<td>{row['std']:.4f}</td>"
        f"<td>{'yes' if row['distinguishable'] else 'no'}</td></tr>"
        for name, row in _by_importance(analysis)
    )
    level = _level(analysis)
    gaps = "".join(
        f"<tr><td>{esc(label)}</td><td>"
        f"{'n/a' if gap is None else f'{gap:+.4f}'}</td></tr>"
        for label, gap in analysis.gaps.items()
    )
    figures = "".join(
        f"<figure><img alt='{esc(name)}' src='data:image/png;base64,"
        f"{figure_png(fig)}'><figcaption>{esc(name)}</figcaption></figure>"
        for name, fig in analysis.figures.items()
    )
    best = analysis.best
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto;
       color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 12px; text-align: left; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 90%; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>Task: <b>{esc(analysis.task)}</b> of <b>{esc(analysis.target)}</b> on
{analysis.n_rows} rows; numeric columns: {esc(", ".join(analysis.numeric)) or "none"};
categorical columns (dropped as whole one-hot groups):
{esc(", ".join(analysis.categorical)) or "none"}.</p>
<h2>Does dropout help?</h2>
<p>Chosen by cross-validation: input_dropout = {best["input_dropout"]:g},
hidden_dropout = {best["hidden_dropout"]:g} (mean CV {esc(analysis.scoring)}
{best["cv_score"]:.4f}).</p>
<table><tr><th>model</th><th>mean CV {esc(analysis.scoring)}</th></tr>{rows}</table>
<h3>Generalization gap (final validation loss minus training loss)</h3>
<table><tr><th>network</th><th>gap</th></tr>{gaps}</table>
{interval_section(analysis)}
<h2>Which features matter?</h2>
<p>Held-out {esc(analysis.scoring)} lost when the network is refitted
without each column: the mean over the CV splits, its {level} interval, and
the standard deviation over the splits.  The fit on every column and the
refits of a split share their seed, so that seed noise cancels in part in
the difference; the interval is Nadeau and Bengio's corrected resampled t
interval, wider than the textbook one because CV splits share most of their
training rows.  An importance whose interval covers 0 is not distinguishable
from 0: these splits cannot tell the network without the column from the
network with it.</p>
<table><tr><th>column</th><th>importance</th><th>{level} interval</th>
<th>std</th><th>distinguishable from 0</th></tr>{importances}</table>
<p>{esc(indistinguishable_sentence(analysis))}</p>
{relevance_section(analysis)}
{linear_section(analysis)}
<h2>Figures</h2>
{figures}
<p><small>skdrop {__version__}</small></p>
</body></html>
"""


#: The file that marks a folder as skdrop's report, which a later run may
#: replace (``skdrop analyze --out``).
REPORT_MARKER = ".skdrop-report"


def write_report(analysis, out_dir, title: str) -> list[Path]:
    """Write ``report.html`` and ``results.json`` into ``out_dir``, with the
    marker that says skdrop wrote them.

    Each file is written under a temporary name in the same folder and then
    renamed, so an interrupted run never leaves a half-written report.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_MARKER).write_text("written by skdrop analyze\n", encoding="utf-8")
    payloads = {
        "results.json": json.dumps(analysis.to_json(), indent=2),
        "report.html": render_html(analysis, title),
    }
    umask = os.umask(0)
    os.umask(umask)
    written = []
    for name, text in payloads.items():
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private
            os.replace(tmp, out / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(out / name)
    return written
