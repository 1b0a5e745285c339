"""
====================================================
Uncertainty of a regression with Monte Carlo dropout
====================================================

Keeping the dropout masks on at prediction time and looking at the spread of
many stochastic predictions is Monte Carlo dropout (Gal and Ghahramani 2016).
:class:`~skdrop.DropoutMLPRegressor` gives the mean of 50 such passes and the
predictive standard deviation with ``predict(X, return_std=True)``, and every
pass with :meth:`~skdrop.DropoutMLPRegressor.mc_predict`.

On a one-dimensional toy problem with a gap in the data this example shows

1. that the standard deviation grows where the model has seen no data,
2. that the spread of the passes measures the model's uncertainty only, and
   that the noise of the targets (``noise_variance_``, estimated by the fit)
   makes up the rest of a prediction interval, and
3. that its size depends on the dropout rate.
"""

# %%
# The data: two clusters of noisy observations of a smooth curve, with a gap
# between them and nothing outside [-4, 4].
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdrop import DropoutMLPRegressor

# Small by default (the size the documentation shows, under a minute);
# SKDROP_EXAMPLE_SIZE=full runs the larger settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") != "full"
# The models below train for a fixed number of epochs on purpose.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

NOISE = 0.3
rng = np.random.default_rng(0)


def curve(x):
    return np.sin(1.5 * x) + 0.3 * x


def sample(n):
    x = np.concatenate([rng.uniform(-4, -1, n // 2), rng.uniform(1.5, 4, n - n // 2)])
    return x[:, None], curve(x) + NOISE * rng.normal(size=n)


X_train, y_train = sample(300)
X_val, y_val = sample(300)
grid = np.linspace(-7, 7, 281)[:, None]

# %%
# A dropout network and its Monte Carlo predictions
# -------------------------------------------------
# A small hidden dropout rate is typical for regression: the masks must
# perturb the function without preventing it from fitting the data.
epochs = 150 if FAST else 1500
hidden = (64, 64) if FAST else (128, 128)


def make_model(rate):
    return DropoutMLPRegressor(
        hidden_layer_sizes=hidden,
        hidden_dropout=rate,
        learning_rate_init=0.005,
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=0,
    )


model = make_model(0.1).fit(X_train, y_train)
mean = model.predict(grid, return_std=True)[0]
draws = model.mc_predict(grid, n_samples=10, random_state=1)

# %%
# The model's uncertainty and the prediction interval
# ---------------------------------------------------
# ``include_noise=False`` gives the spread of the dropout passes only; the
# default adds ``noise_variance_``, the noise of the targets, which the fit
# estimated on its training rows.  Every row gets its own masks in each pass,
# so 50 passes leave small wiggles in the curves.
std = model.predict(grid, return_std=True, include_noise=False)[1]
total = model.predict(grid, return_std=True)[1]
print(f"estimated target noise: {np.sqrt(model.noise_variance_[0]):.3f} (true {NOISE})")

for label, include_noise in [("model std only", False), ("model std and noise", True)]:
    bounds = model.predict_interval(X_val, coverage=0.95, include_noise=include_noise)
    inside = np.mean((bounds[:, 0] <= y_val) & (y_val <= bounds[:, 1]))
    print(f"95% interval from {label:20s} covers {100 * inside:5.1f}% of new points")

fig, ax = plt.subplots(figsize=(7, 4.5))
x = grid[:, 0]
ax.fill_between(
    x,
    mean - 1.96 * total,
    mean + 1.96 * total,
    color="C0",
    alpha=0.15,
    label="95% interval, model + noise",
)
ax.fill_between(
    x,
    mean - 1.96 * std,
    mean + 1.96 * std,
    color="C0",
    alpha=0.35,
    label="95% interval, model only",
)
ax.plot(x, draws.T, color="C1", lw=0.5, alpha=0.6)
ax.plot([], [], color="C1", lw=0.5, label="single dropout passes")
ax.plot(x, mean, color="C0", label="MC mean")
ax.plot(x, curve(x), color="k", ls=":", label="true curve")
ax.scatter(X_train[:, 0], y_train, s=6, color="k", alpha=0.4, label="training data")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_ylim(-5, 5)
ax.set_title("Monte Carlo dropout with DropoutMLPRegressor")
ax.legend(fontsize="small", loc="upper left")
fig.tight_layout()

# %%
# Where the model is unsure
# -------------------------
# The standard deviation is smallest inside the two clusters of data, larger
# in the gap and growing outside the training range.  Its size is set by the
# dropout rate: the same network trained with a larger rate reports more
# uncertainty.  It is a relative measure unless checked on held-out data,
# as the coverage above was; and far from the data even the widest band
# above misses the true curve, which the network has no way to know.
#
# ``mc_predict`` returns the individual passes; 200 of them give smoother
# curves than the 50 behind ``return_std``.
rates = [0.05, 0.1, 0.2]
n_passes = 50 if FAST else 200
inside = (x >= -4) & (x <= 4)
fig, ax = plt.subplots(figsize=(7, 3.5))
for rate in rates:
    fitted = model if rate == 0.1 else make_model(rate).fit(X_train, y_train)
    rate_std = fitted.mc_predict(grid, n_samples=n_passes, random_state=0).std(axis=0)
    ax.plot(x, rate_std, label=f"hidden_dropout={rate}")
    print(
        f"rate {rate:4.2f}: mean std within [-4, 4] {rate_std[inside].mean():.3f}, "
        f"beyond {rate_std[~inside].mean():.3f}"
    )
for lo, hi in [(-4, -1), (1.5, 4)]:
    ax.axvspan(lo, hi, color="0.9")
ax.set_xlabel("x (grey: where the training data are)")
ax.set_ylabel("MC dropout std")
ax.legend(fontsize="small")
fig.tight_layout()

# %%
# The deterministic ``predict(X)`` (masks replaced by their mean) is close to
# the MC mean but not equal to it, since the network is not linear.
gap = np.max(np.abs(model.predict(grid) - mean))
print(f"largest |predict - MC mean| on the grid: {gap:.3f}")
plt.show()
