"""The fitted dropout rates of a network estimator: ``input_dropout_`` per
original feature, ``hidden_dropout_`` per layer and, where rates are
learned, their history over epochs."""

from __future__ import annotations

import numpy as np


class FittedRatesMixin:
    """Exports the rates of ``module_`` (mixed into the network estimators)."""

    def _export_rates(self, result):
        """``input_dropout_`` (per original feature), ``hidden_dropout_`` and,
        where rates are learned, their history over epochs."""
        rates = self.module_.dropout_rates()
        self.input_dropout_ = self._per_feature(rates[0])
        self.hidden_dropout_ = [float(r[0]) for r in rates[1:]]
        if not self.module_.learned_logits:
            self.input_dropout_history_ = self.hidden_dropout_history_ = None
            return
        inputs = [self._per_feature(epoch[0]) for epoch in result.rates]
        hidden = [[float(r[0]) for r in epoch[1:]] for epoch in result.rates]
        width = (self.n_features_in_,), (len(self.hidden_dropout_),)
        new = [
            np.asarray(rows, dtype=float).reshape(-1, *shape)
            for rows, shape in zip((inputs, hidden), width, strict=True)
        ]
        old = (
            (self.input_dropout_history_, self.hidden_dropout_history_)
            if getattr(self, "input_dropout_history_", None) is not None
            else None
        )
        if old is not None:
            new = [np.concatenate(pair) for pair in zip(old, new, strict=True)]
        self.input_dropout_history_, self.hidden_dropout_history_ = new

    def _per_feature(self, rates):
        """The input site's rates (one, or one per encoded column or group)
        as one rate per original feature (NaN for a column that encodes to
        nothing)."""
        site = self.module_.sites[0]
        n_inputs = self.module_.linear_layers[0].in_features
        if len(rates) == 1:
            columns = np.full(n_inputs, rates[0])
        elif site.group_index is not None:
            columns = rates[site.group_index.cpu().numpy()]
        else:
            columns = rates
        encoder = getattr(self, "_encoder", None)
        if encoder is None:
            return np.asarray(columns, dtype=float)
        return np.asarray(
            [columns[g[0]] if len(g) else np.nan for g in encoder.groups], dtype=float
        )
