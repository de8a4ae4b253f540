"""The pool's answers against its frees over time: ``pacing.queue_model`` for calls of several campaigns.

A mostly busy pool, like a small team, is idle each time a call ends unless the dialer pre-dials for the
operators about to free. ``pacing.queue_model`` steps through the next seconds in safe-harbor steps, with
the frees of the busy operators and the answers of each step as Poisson counts. With several campaigns only
the answer side changes: each ringing call has its own campaign's chance to be answered in each step, and
each planned call adds its own campaign's chances, so the answers of a step stay Poisson with the sum of
those means (the planned calls in share order, a cumulative sum per candidate prefix). The busy operators'
campaigns are not known to the planner: their chance to free is the members' handle-time laws mixed by
share.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pacing.queue_model import QueueModel, _deficit_bound, _rows, model_for
from pacing.snapshot import Snapshot

_recent: dict[int, tuple[Snapshot, QueueModel]] = {}


def _model(snapshot: Snapshot, safe_harbor_s: float) -> QueueModel:
    """``queue_model.model_for``, remembered per estimates object (a group alternates several)."""
    seen = _recent.get(id(snapshot.estimates))
    if seen is not None and seen[0].estimates is snapshot.estimates and seen[1].step_s == safe_harbor_s:
        return seen[1]
    if len(_recent) >= 64:
        _recent.clear()
    model = model_for(snapshot.estimates, safe_harbor_s)
    _recent[id(snapshot.estimates)] = (snapshot, model)
    return model


def safe_prefix_queued(free: int, busy_elapsed_s: Sequence[float], campaigns: Sequence[tuple[Snapshot, float]],
                       order: Sequence[int], alpha: float, safe_harbor_s: float) -> int:
    """Largest n such that the first n calls of ``order`` (indices into ``campaigns``) keep expected abandons
    ≤ α·expected answers; −1 when even n = 0 breaks it.

    ``campaigns``: each member's snapshot (its calls ringing and waiting, its estimates) and share; ``free``:
    the free operators minus the reserved ones (≥ 0); ``busy_elapsed_s``: the pool's busy operators."""
    models: list[QueueModel] = [_model(snapshot, safe_harbor_s) for snapshot, _ in campaigns]
    steps = max(m.steps for m in models)
    new_steps = np.zeros((len(models), steps))
    total_share = sum(share for _, share in campaigns) or 1.0
    answers = np.zeros(steps)
    frees = np.zeros(steps)
    for j, (model, (snapshot, share)) in enumerate(zip(models, campaigns, strict=True)):
        new_steps[j, :model.steps] = model.new_steps
        ringing, busy = _rows(model, Snapshot(0, tuple(busy_elapsed_s), snapshot.ringing_elapsed_s, 0,
                                              snapshot.estimates))
        answers[:model.steps] += ringing
        frees[:model.steps] += share / total_share * busy
    if free < 0:
        raise ValueError(f"free operators beyond the reserve cannot be negative (got {free}): plan() dials "
                         "nothing while the reserve is short")
    waiting = sum(snapshot.waiting_answered for snapshot, _ in campaigns)
    new = new_steps[np.asarray(order, dtype=np.intp)]
    prefix = np.concatenate((np.zeros((1, steps)), np.cumsum(new, axis=0)))          # (n+1, steps)
    lam = waiting + answers.sum() + prefix.sum(axis=1)                                 # expected answers per n
    budget = alpha * lam + 1e-9
    # every path loses at least the deficit of the means at the end: past it, no stepping is needed
    cut = np.flatnonzero(lam - (free + frees.sum()) > budget)
    n_max = min(int(cut[0]) - 1 if cut.size else len(order), len(order))
    if n_max > 0:
        # the exact end-of-horizon deficit (``queue_model``), with every planned call as likely to be answered
        # as the least likely one: it can only cut later than the true mix would, never earlier
        per_call = float(new.sum(axis=1).min())
        n_max = min(n_max, _deficit_bound(free, waiting, float(frees.sum()), float(answers.sum()), per_call, alpha,
                                          n_max))
    if n_max < 0:
        return -1
    losses = _losses(free, waiting, len(busy_elapsed_s), answers, frees, prefix[:n_max + 1])
    bad = np.flatnonzero(losses > budget[:n_max + 1])
    return int(bad[0]) - 1 if bad.size else n_max


def _losses(free: int, waiting: int, busy: int, answers: np.ndarray, frees: np.ndarray,
            prefix: np.ndarray) -> np.ndarray:
    """Expected abandons for each candidate prefix, stepping the queue as ``queue_model.expected_losses``."""
    length = 1 << max(6, (2 * (free + busy + 24)).bit_length())
    half = length // 2
    w = np.exp(-2j * np.pi * np.arange(half + 1) / length)
    spectrum = np.broadcast_to(w ** free * np.conj(w) ** waiting, (prefix.shape[0], half + 1))
    weights = np.stack((np.arange(half, 0, -1, dtype=float), np.ones(half)), axis=1)
    losses = np.zeros(prefix.shape[0])
    for k in range(answers.size):
        kernel = np.exp(np.outer(prefix[:, k] + answers[k], np.conj(w) - 1.0) + frees[k] * (w - 1.0)[None, :])
        pmf = np.fft.irfft(spectrum * kernel, n=length, axis=1)
        tail = pmf[:, half:]
        lost, gone = (tail @ weights).T
        losses += lost
        pmf[:, 0] += gone
        tail[:] = 0.0
        spectrum = np.fft.rfft(pmf, axis=1)
    return np.maximum(losses, 0.0)
