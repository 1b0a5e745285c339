"""Mini-batch training of dropout networks, one alone or many side by side
(torch only; the estimators validated the configuration).

A cross-validated grid trains its members side by side, each replaying what
a single fit does on its own rows (the same initialization, shuffling and
mask streams, loss, optimizer, schedule and stopping rule), so member ``m``
equals a single fit on ``X[rows_m]`` up to float32 rounding (the batched
products sum in another order).  A member that stops (by the stopping rule,
or by diverging) leaves the stack: from then on it costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from ..utils import Progress
from ._batches import (
    Batch,
    Rows,
    Validation,
    lone_batches,
    member_batches,
    member_validation,
    shuffled,
)
from ._layers import LOGIT_BOUND, NoiseSource
from ._network import chunk_rows
from ._objective import divergence, head_loss_and_grad, validation_metrics
from ._optimizer import (
    MLPConfig,
    max_norm_,
    optimizer_step,
    schedule,
    step_rates,
    stopping_rule,
)
from ._spec import (
    EpochsResult,
    MemberFit,
    MemberPlan,
    NetworkSpec,
    initialized_network,
    new_network,
)
from ._stack import NetworkStack
from ._state import NetworkState, TrainerState

MembersProgress = Callable[[int, int], None]


class MLPTrainer(TrainerState):
    """Trains dropout networks with a hand-written backward pass.

    ``MLPTrainer(network, ...)`` (parameters as :class:`TrainerState`)
    trains one network alone and keeps its state between calls, which is
    what ``warm_start`` and ``partial_fit`` need; :meth:`for_members` trains
    many side by side.
    """

    @classmethod
    def for_members(
        cls,
        spec: NetworkSpec,
        plans: Sequence[MemberPlan],
        head: str,
        config: MLPConfig,
        device: torch.device,
    ) -> MLPTrainer:
        """A trainer of the members of ``plans`` side by side, of ``spec``'s
        architecture with each plan's rates.  Batch normalization (its
        statistics would mix members' padding rows), learned rates and
        L-BFGS need a network alone."""
        if spec.batch_norm or config.solver == "lbfgs":
            raise ValueError("members train with a stochastic solver, no batch norm")
        if any(math.isnan(r) for plan in plans for r in plan.rates):
            raise ValueError("members with learned rates train one by one")
        trainer = cls.__new__(cls)
        networks, members = [], []
        # Members with the same mask seed and rates draw the same masks as
        # long as they ask for the same shapes (folds of equal size): they
        # share one stream, drawn once, until their requests differ.
        streams: dict[tuple[int, tuple[float, ...]], NoiseSource] = {}
        for plan in plans:
            rates = replace(spec, rates=plan.rates)
            networks.append(initialized_network(rates, plan.seeds[0]))
            key = (plan.seeds[1], plan.rates)
            if key not in streams:
                streams[key] = NoiseSource(plan.seeds[1], device)
            lr = config.learning_rate_init
            member = NetworkState(streams[key], plan.seeds[2], lr, plan, len(plan.rows))
            members.append(member)
        trainer._start(head, config, device, members)
        trainer.spec = spec
        trainer.stack = NetworkStack.members(networks, device)
        trainer.stack.moments = trainer._fresh_moments(trainer.stack.flat)
        return trainer

    def fit(
        self,
        X: Rows,
        Y: Tensor,
        W: Tensor | None,
        max_epochs: int,
        *,
        validation: tuple[Rows, Tensor, Tensor | None] | None = None,
        progress: Progress | None = None,
    ) -> EpochsResult:
        """Train the network alone until the stopping rule fires (on the
        ``validation`` score when given, restoring the best epoch) or
        ``max_epochs``.

        A ``KeyboardInterrupt`` stops training at the last completed epoch
        (the interrupted one is undone) and returns with ``interrupted``
        set.  Any other exception leaves this trainer half-trained: train a
        :meth:`copy` to keep the original.
        """
        self._ensure_flat()
        member = self.members[0]
        member.result, self.alive, member.error = EpochsResult([]), [0], None
        val = None
        if validation is not None:
            Xv, Yv, Wv = validation
            val = (Xv, None, Yv[None], None if Wv is None else Wv[None], None)
        self._run(X, Y, W, max_epochs, val, progress)
        self._finish(list(range(len(self.alive))), by_rule=False)
        return member.result

    def fit_members(
        self,
        X: Tensor,
        Y: Tensor,
        W: Tensor | None,
        max_epochs: int,
        *,
        progress: MembersProgress | None = None,
    ) -> list[MemberFit]:
        """Train every member until its stopping rule fires or ``max_epochs``:
        one :class:`MemberFit` per plan.  ``Y`` is ``[n, out]`` (shared) or
        ``[targets, n, out]`` (each member's plan names its target)."""
        plan = self.members[0].plan
        early = plan is not None and plan.validation_rows is not None
        validation = self._member_validation(X, Y, W) if early else None
        self._run(X, Y, W, max_epochs, validation, progress)
        self._finish(list(range(len(self.alive))), by_rule=False)
        return [self.finished[m] for m in range(len(self.members))]

    def _run(
        self,
        X: Rows,
        Y: Tensor,
        W: Tensor | None,
        max_epochs: int,
        validation: Validation | None,
        progress: Callable[[int, Any], None] | None,
    ) -> None:
        """Epochs until every network stopped or ``max_epochs``."""
        for epoch in range(max_epochs):
            if not self.alive:
                return
            mark = None
            try:
                # Inside the try: a Ctrl-C while marking ends the call as an
                # interruption too, keeping the completed epochs.
                mark = self._mark() if self.stack.lone else None
                losses = self._epoch(X, Y, W)
                scores = None if validation is None else self._validate(validation)
                stopped = self._judge(losses, scores)
            except KeyboardInterrupt:
                if not self.stack.lone:
                    raise
                if mark is not None:
                    self._rewind(mark)
                self.members[0].result.interrupted = True
                return
            self._record(losses, scores)
            if not self._report(progress, epoch, len(self.alive) - len(stopped)):
                return
            self._finish(stopped, by_rule=True)
            if stopped and validation is not None and self.alive:
                if not self.stack.lone:
                    validation = self._member_validation(X, Y, W)

    def _epoch(self, X: Rows, Y: Tensor, W: Tensor | None) -> list[float]:
        lone = self.stack.lone
        batches = self._batches(X, Y, W)
        if lone:
            self.network.train()
        shape = () if lone else (len(self.alive),)
        total = torch.zeros(shape, dtype=X.dtype, device=X.device)
        with torch.no_grad():
            for xb, yb, wb, lengths, counts in batches:
                total += self._step(xb, yb, wb, lengths) * counts
        if lone:
            self.network.eval()
        members = [self.members[m] for m in self.alive]
        n_rows = torch.tensor([s.n_rows for s in members], dtype=torch.float64)
        losses: list[float] = (total.cpu().double() / n_rows).tolist()
        for member, loss in zip(members, losses, strict=True):
            error = divergence(member.epochs_run + 1, loss)
            if error is not None:
                self._diverged(member, error)
                continue
            member.epochs_run += 1
            member.samples_seen += member.n_rows
            schedule(member, self.config)
        return losses

    def _diverged(self, member: NetworkState, error: str) -> None:
        # A network alone with a best validation epoch stops and keeps it,
        # as scikit-learn's early stopping does.
        if self.stack.lone and member.best is None:
            raise FloatingPointError(error)
        member.error = error

    def _order(self, member: NetworkState, n: int) -> Tensor | None:
        if not self.config.shuffle:
            return None
        return shuffled(member.shuffle_seed + member.epochs_run, n, self.device)

    def _batches(self, X: Rows, Y: Tensor, W: Tensor | None) -> Iterator[Batch]:
        cfg = self.config
        if self.stack.lone:
            member, n = self.members[0], X.shape[0]
            member.n_rows = n
            member.penalty_rows = n if cfg.concrete_rows is None else cfg.concrete_rows
            order = self._order(member, n)
            norms = bool(self.stack.norms)
            return lone_batches(X, Y, W, cfg.batch_size, order, norms)
        orders = []
        for m in self.alive:
            member = self.members[m]
            mine = torch.as_tensor(self._plan(m).rows, dtype=torch.int64)
            order = self._order(member, member.n_rows)
            orders.append(mine if order is None else mine[order.cpu()])
        targets = [self._plan(m).target for m in self.alive]
        workspace = self.stack.workspace
        assert isinstance(X, Tensor)  # members share one dense table
        return member_batches(X, Y, W, orders, cfg.batch_size, targets, workspace)

    def _plan(self, m: int) -> MemberPlan:
        plan = self.members[m].plan
        assert plan is not None
        return plan

    def _step(
        self, xb: Tensor, yb: Tensor, wb: Tensor | None, lengths: list[int]
    ) -> Tensor:
        """One mini-batch step of every alive network (members with no rows
        in it idle); their penalized batch losses."""
        batch_loss = self.loss_and_gradient(xb, yb, wb, lengths)
        self._update([k for k, n in enumerate(lengths) if n == 0])
        return batch_loss

    def loss_and_gradient(
        self,
        xb: Tensor,
        yb: Tensor,
        wb: Tensor | None,
        lengths: list[int] | None = None,
        *,
        noise: bool = True,
    ) -> Tensor:
        """The penalized mean loss of a batch (of each member), its gradient
        in ``stack.grad``; without ``noise`` no dropout (L-BFGS).

        Like scikit-learn: the batch mean loss plus ``alpha / (2 n) ||W||^2``
        with ``n`` the summed sample weight of the batch (decoupled for
        "adamw").  A batch whose weights are all zero holds no data: an
        infinite scale makes its gradient and loss zero instead of dividing
        ``alpha`` by 0.
        """
        stack, cfg = self.stack, self.config
        lengths = [xb.shape[-2]] if lengths is None else lengths
        noises = None
        if noise:
            if len(self.alive) > 1:
                self._split_streams(lengths)
            noises = [self.members[m].noise for m in self.alive]
        out, cache = stack.forward_train(xb, noises, lengths)
        loss_sum, grad_out = head_loss_and_grad(out, yb, wb, self.head)
        # The weight sum stays a tensor: no device synchronization per step.
        scale: float | Tensor = float(xb.shape[-2])
        if wb is not None:
            total = wb.sum(-1)
            scale = torch.where(total > 0, total, torch.full_like(total, math.inf))
        per_row = scale if stack.lone else scale[:, None, None]  # type: ignore[index]
        stack.backward(grad_out.div_(per_row), cache)
        batch_loss = loss_sum / scale
        l2 = cfg.alpha if cfg.solver != "adamw" else 0.0
        if l2 > 0:
            batch_loss = batch_loss + stack.l2_penalty_(l2, scale)
        if stack.learned:
            # Concrete dropout's regularizer is per training row, not per batch.
            rows = self.members[self.alive[0]].penalty_rows
            penalty = stack.concrete_penalty_(rows, cfg.prior_length_scale)
            batch_loss = batch_loss + penalty
        return batch_loss

    def _split_streams(self, lengths: list[int]) -> None:
        """Give members that share a mask stream but ask for batches of
        another size this step a copy of it (before anything is drawn), so
        that each member's stream stays its own."""
        by_stream: dict[int, dict[int, list[NetworkState]]] = {}
        for m, length in zip(self.alive, lengths, strict=True):
            member = self.members[m]
            groups = by_stream.setdefault(id(member.noise), {})
            groups.setdefault(length, []).append(member)
        for groups in by_stream.values():
            for group in list(groups.values())[1:]:
                twin = group[0].noise.copy()
                for member in group:
                    member.noise = twin

    def _update(self, idle: list[int]) -> None:
        """The optimizer step of every alive network but those at positions
        ``idle`` of ``alive``."""
        stack, cfg = self.stack, self.config
        saved = [
            (t, k, stack.member(t, k))
            for t in (stack.flat, *stack.moments)
            for k in idle
        ]
        members = [self.members[m] for m in self.alive]
        for k, member in enumerate(members):
            member.steps += k not in idle
        optimizer_step(
            cfg,
            (stack.flat, stack.grad, stack.moments),
            step_rates(cfg, members, self._per_member),
            stack.n_weights,
            self._lr_scale,
            scratch=None if stack.lone else stack.workspace,
        )
        if cfg.max_norm is not None:
            max_norm_(stack.weight_blocks, cfg.max_norm)
        for logits in stack.logits_of(stack.flat):
            logits.clamp_(-LOGIT_BOUND, LOGIT_BOUND)
        for t, k, values in saved:
            stack.set_member(t, k, values)

    def _per_member(self, values: list[float]) -> float | Tensor:
        """A number when every member has the same value, else the values
        expanded to the flat layout."""
        if all(v == values[0] for v in values):
            return float(values[0])
        flat = self.stack.flat
        column = torch.tensor(values, dtype=flat.dtype, device=self.device)
        blocks = self.stack.blocks(flat)
        return torch.cat(
            [column[:, None].expand(-1, b.shape[1]).ravel() for b in blocks]
        )

    def _member_validation(self, X: Rows, Y: Tensor, W: Tensor | None) -> Validation:
        assert isinstance(X, Tensor)  # members share one dense table
        plans = [self._plan(m) for m in self.alive]
        rows = [p.validation_rows for p in plans if p.validation_rows is not None]
        return member_validation(X, Y, W, rows, [p.target for p in plans])

    def _validate(self, validation: Validation) -> tuple[list[float], list[float]]:
        """The alive networks' validation losses and scores."""
        X, rows, target, weights, n_rows = validation
        stack = self.stack
        width = X.shape[0] if rows is None else rows.shape[1]
        if stack.lone:
            chunk = chunk_rows(self.network, X.shape[1])
        else:
            widest = max(shape[0] for shape in stack.shapes[: stack.n_layers])
            chunk = max(1, (1 << 22) // widest // len(self.alive))
        raws = []
        with torch.no_grad():
            for start in range(0, width, chunk):
                if rows is None:
                    raws.append(stack.forward_eval(X[start : start + chunk]))
                else:
                    # A copy: the outputs live in a buffer the next chunk reuses.
                    xb = X[rows[:, start : start + chunk]]
                    raws.append(stack.forward_eval(xb).clone())
        raw = torch.cat(raws, -2)
        raw = raw[None] if stack.lone else raw
        finite = torch.isfinite(raw).flatten(1).all(1).tolist()
        for k, ok in enumerate(finite):
            member = self.members[self.alive[k]]
            if not ok and member.error is None:
                self._diverged(member, str(divergence(member.epochs_run, 0.0, False)))
        loss, score = validation_metrics(raw, target, weights, self.head, n_rows)
        return loss.tolist(), score.tolist()

    def _judge(
        self, losses: list[float], scores: tuple[list[float], list[float]] | None
    ) -> list[int]:
        """Positions in ``alive`` of the networks that stop (diverged ones
        included), keeping each one's best epoch under early stopping."""
        stopped = []
        for k, m in enumerate(self.alive):
            member = self.members[m]
            if member.error is not None:
                stopped.append(k)
                continue
            score = None if scores is None else scores[1][k]
            stop, improved = stopping_rule(member, self.config, losses[k], score)
            if improved:
                member.best_epoch = member.epochs_run
                buffers = [b.clone() for b in self._buffers()]
                member.best = (self.stack.member(self.stack.flat, k), buffers)
            if stop:
                stopped.append(k)
        return stopped

    def _record(
        self, losses: list[float], scores: tuple[list[float], list[float]] | None
    ) -> None:
        for k, m in enumerate(self.alive):
            member = self.members[m]
            if member.error is not None:
                continue
            result = member.result
            result.losses.append(losses[k])
            if self.stack.learned:
                result.rates.append(self.network.dropout_rates())
            if scores is not None:
                result.validation_losses.append(scores[0][k])
                result.validation_scores.append(scores[1][k])

    def _report(
        self, progress: Callable[[int, Any], None] | None, epoch: int, n_alive: int
    ) -> bool:
        """Tell ``progress`` a single fit's epoch and loss, or members' epoch
        and the number still training.  False when a ``KeyboardInterrupt``
        stopped a single fit there (its epoch completed: it is kept)."""
        if progress is None:
            return True
        if not self.stack.lone:
            progress(epoch + 1, n_alive)
            return True
        result = self.members[0].result
        try:
            progress(len(result.losses), result.losses[-1])
        except KeyboardInterrupt:
            result.interrupted = True
            return False
        return True

    def _finish(self, positions: list[int], *, by_rule: bool) -> None:
        """The networks at ``positions`` stop (``by_rule``: by the stopping
        rule or a divergence), with their best epoch's parameters: a network
        alone's in place, members' in new networks."""
        for k in positions:
            member = self.members[self.alive[k]]
            member.result.converged = by_rule and member.error is None
            # A network alone only reaches here diverged with a best epoch.
            lone = self.stack.lone
            best = member.best if member.error is None or lone else None
            member.best = None
            if lone:
                if best is not None:
                    self._restore(*best)
                if member.error is not None:
                    member.result.diverged = member.error
                    # The moments hold the diverged steps: a later
                    # partial_fit starts from fresh ones.
                    self.reset_optimizer()
                continue
            params, epoch = self.stack.member(self.stack.flat, k), member.epochs_run
            if best is not None:
                params, epoch = best[0], member.best_epoch
            assert member.plan is not None
            network = new_network(replace(self.spec, rates=member.plan.rates))
            network = self.stack.unstacked(params, network)
            fit = MemberFit(network, member.result, epoch, member.error)
            self.finished[self.alive[k]] = fit
        self._drop(positions)

    def _drop(self, positions: list[int]) -> None:
        gone = set(positions)
        keep = [k for k in range(len(self.alive)) if k not in gone]
        self.alive = [self.alive[k] for k in keep]
        if not self.alive or self.stack.lone or not gone:
            return
        self.stack = self.stack.kept(keep)
