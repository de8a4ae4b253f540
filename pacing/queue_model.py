"""Answers against frees over time: a small time-stepped queue, for floors where busy operators matter.

A small team is mostly busy: dialing only for the operators free *now* leaves it idle every time a call
ends. Crediting the busy ones with their chance to free is only safe if the model knows *when* answers
and frees happen: an answer at 8 s is lost even if an operator frees at 12 s. (Comparing cumulative
answers with cumulative frees at a few checkpoints missed exactly that, and under-predicted abandonment
several times over: benchmarks/results/pacing-notes.md.) The losses of a queue are the running maximum
of its deficit, not the deficit at the end, so this module steps through the next seconds:

* time runs in steps of the safe-harbor window (2 s) until the ring timeout;
* in each step the idle operators gain the busy operators who free in it (each busy operator's chance,
  from the estimated handle-time law given how long it has lasted, pacing.handle_time), then lose the
  live answers of the step (each ringing call's chance given how long it has rung, plus the new calls'
  chance); answers beyond the idle operators are abandoned. An operator freeing in the same step as an
  answer always reaches it within the window; one freeing in the next step is not credited, which errs on the safe side.

Per step the frees and the answers are Poisson (their means are sums of small Bernoulli chances; the
Poisson's slightly larger variance again errs on the safe side), so one step is one multiplication of
characteristic functions, exp(μ(w−1) + λ(w̄−1)), for every candidate number of new calls at once; one
inverse FFT per step folds the negative part (the abandons) back to zero idle operators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from pacing import per_call_answers
from pacing.handle_time import log_survival, upper_quantile
from pacing.predictive import ring_cdf
from pacing.snapshot import Estimates, Snapshot

_RING_STEP_S = 0.1      # rows of the ringing table
_BUSY_STEP_S = 1.0      # rows of the busy table


@dataclass
class QueueModel:
    """What depends on the estimates only; built once per estimates (see ``model_for``)."""
    step_s: float
    ring_steps: np.ndarray      # P(live answer in step k | rang e s), rows e = 0, 0.1 … timeout
    new_steps: np.ndarray       # P(a new call is answered live in step k)
    busy_steps: np.ndarray      # P(handle ends in step k | lasted e s), rows e = 0, 1 … (then flat)
    new_powers: dict[int, np.ndarray]   # per FFT length: exp(n q_k (w̄−1)), shape (steps, n, L/2+1)

    @property
    def steps(self) -> int:
        return self.new_steps.size


def build(est: Estimates, step_s: float) -> QueueModel:
    """The per-step chances for these estimates: a ringing call's live answer given how long it has rung (the
    hazard p·ΔF / (1 − p·F)), a new call's, and a busy operator's free given how long it has lasted.
    Costly; callers go through ``model_for``, which caches it."""
    cdf = ring_cdf(est)
    grid = np.arange(len(cdf), dtype=float)
    timeout = max(est.no_answer_timeout_s, 1.0)
    # after the last possible answer nothing can be lost: the steps stop there
    last_answer = float(grid[np.flatnonzero(cdf < cdf[-1] - 1e-9)[-1] + 1]) if (cdf < cdf[-1] - 1e-9).any() else 1.0
    steps = max(1, math.ceil(min(timeout, last_answer) / step_s))
    edges = np.arange(steps + 1) * step_s
    p = min(max(est.answer_rate, 1e-4), 1.0)
    e = np.arange(0.0, timeout + _RING_STEP_S, _RING_STEP_S)[:, None]
    f_e = np.interp(e, grid, cdf)
    f_edges = np.interp(np.minimum(e + edges[None, :], timeout), grid, cdf)
    ring = np.clip(p * np.diff(f_edges, axis=1) / np.maximum(1.0 - p * f_e, 1e-9), 0.0, 1.0)
    ring[-1] = 0.0                                   # at the timeout the dialer releases the call
    new = p * np.diff(np.interp(edges, grid, cdf))
    # Far in the tail the chance of ending in the next seconds barely moves: the table stops at the
    # 99.95th percentile of the handle time and its last row serves every longer call.
    elapsed = np.arange(0.0, upper_quantile(est, 5e-4) + _BUSY_STEP_S, _BUSY_STEP_S)
    # Frees count for the answers of a step up to half a step after its end: an answer anywhere in the
    # step then has, on average, the whole safe-harbor window for an operator to free.
    free_edges = edges + 0.5 * step_s
    free_edges[0] = 0.0
    log_survive = log_survival(est, elapsed[:, None] + free_edges[None, :])     # log P(handle > e + t)
    survive = np.exp(log_survive - log_survive[:, :1])             # … given it lasted e
    busy = np.clip(-np.diff(survive, axis=1), 0.0, 1.0)
    return QueueModel(step_s, ring, new, busy, {})


def _new_powers(model: QueueModel, length: int, n_max: int) -> np.ndarray:
    table = model.new_powers.get(length)
    if table is None or table.shape[1] <= n_max:
        w_bar = np.exp(2j * np.pi * np.arange(length // 2 + 1) / length)
        n = np.arange(max(n_max + 1, 2 * (table.shape[1] if table is not None else 16)))
        table = np.exp(n[None, :, None] * (model.new_steps[:, None, None] * (w_bar - 1.0)[None, None, :]))
        model.new_powers[length] = table
    return table


def _rows(model: QueueModel, snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Expected live answers per step from the calls ringing, and expected frees per step."""
    busy_rows = np.minimum((np.asarray(snapshot.busy_elapsed_s) * (1 / _BUSY_STEP_S) + 0.5).astype(np.intp),
                           len(model.busy_steps) - 1)
    frees = model.busy_steps[busy_rows].sum(axis=0)
    if per_call_answers.known(snapshot):
        # each ringing call with its own chance (pacing.per_call_answers), on the model's own rounded law and
        # ring-time rows: a call of the estimates' rate then weighs what a row of ``ring_steps`` weighs
        edges = np.arange(model.steps + 1) * model.step_s
        law = _law(snapshot.estimates)
        rows = np.minimum((np.asarray(snapshot.ringing_elapsed_s, dtype=float) * (1 / _RING_STEP_S) + 0.5)
                          .astype(np.intp), len(model.ring_steps) - 1)
        cumulative = per_call_answers.hazard(law, rows * _RING_STEP_S, _rounded(per_call_answers.ringing_p(snapshot)),
                                             edges)
        return np.diff(cumulative, axis=1).sum(axis=0), frees
    ring_rows = np.minimum((np.asarray(snapshot.ringing_elapsed_s) * (1 / _RING_STEP_S) + 0.5).astype(np.intp),
                           len(model.ring_steps) - 1)
    return model.ring_steps[ring_rows].sum(axis=0), frees


def _new_means(model: QueueModel, snapshot: Snapshot, n_max: int) -> np.ndarray | None:
    """Per-call chances: expected live answers per step of the first n new calls, (steps, n_max + 1);
    None when every new call has the estimate's rate (the model's own tables then serve)."""
    if not per_call_answers.known(snapshot):
        return None
    cdf = ring_cdf(_law(snapshot.estimates))
    edges = np.arange(model.steps + 1) * model.step_s
    shape = np.diff(np.interp(edges, np.arange(len(cdf), dtype=float), cdf))
    total = np.concatenate(([0.0], np.cumsum(_rounded(per_call_answers.next_p(snapshot, n_max)))))
    return shape[:, None] * total[None, :]


def expected_losses(model: QueueModel, snapshot: Snapshot, n_max: int,
                    rows: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, float, float]:
    """Expected abandons for n = 0 … n_max new calls, and the expected answers as base + n · per_call."""
    answers, frees = rows if rows is not None else _rows(model, snapshot)
    # Idle operators live in [0, half); the upper half of the circular FFT buffer holds the deficit.
    length = 1 << max(6, (2 * (snapshot.logged_in + 24)).bit_length())
    half = length // 2
    w = np.exp(-2j * np.pi * np.arange(half + 1) / length)
    start = w ** snapshot.free_operators * np.conj(w) ** snapshot.waiting_answered
    new_means = _new_means(model, snapshot, n_max)
    if new_means is None:
        new = _new_powers(model, length, n_max)[:, : n_max + 1]
        per_call_answer = float(model.new_steps.sum())
    else:
        new = np.exp(new_means[:, :, None] * (np.conj(w) - 1.0)[None, None, :])
        per_call_answer = float(new_means[:, -1].sum()) / max(n_max, 1)
    # one kernel per step and candidate: frees up, answers from the calls ringing and the n new calls down
    kernels = new * np.exp(np.outer(frees, w - 1.0) + np.outer(answers, np.conj(w) - 1.0))[:, None, :]
    spectrum = np.broadcast_to(start, (n_max + 1, half + 1))
    # index half … length−1 is a deficit of half … 1: the abandons, and the mass folded back to 0 idle
    weights = np.stack((np.arange(half, 0, -1, dtype=float), np.ones(half)), axis=1)
    losses = np.zeros(n_max + 1)
    for k in range(model.steps):
        pmf = np.fft.irfft(spectrum * kernels[k], n=length, axis=1)
        tail = pmf[:, half:]
        lost, gone = (tail @ weights).T
        losses += lost
        pmf[:, 0] += gone
        tail[:] = 0.0
        spectrum = np.fft.rfft(pmf, axis=1)
    base = snapshot.waiting_answered + float(answers.sum())
    return np.maximum(losses, 0.0), base, per_call_answer


def _rel(x: float) -> float:
    """``x`` rounded to the nearest step of 5 % (on a log scale)."""
    return math.exp(round(math.log(max(x, 1e-6)) / 0.05) * 0.05)


def _rounded(chances: np.ndarray) -> np.ndarray:
    """Each call's chance rounded as ``_quantized`` rounds the answer rate (the same floats, per call)."""
    return np.array([min(_rel(float(p)), 1.0) for p in chances])


def _quantized(est: Estimates) -> Estimates:
    """The estimates rounded to the precision the queue needs (5 % of the answer rate and of the handle
    time, 0.1 of sigma and of the ring-time CDF): less than their own noise, and the model, built from
    the rounded figures, is rebuilt only when the world moved, and is the same whatever came before."""
    rel = _rel
    handle = rel(est.mean_talk_s + est.mean_wrap_s)
    return Estimates(answer_rate=min(rel(est.answer_rate), 1.0), mean_ring_to_answer_s=round(est.mean_ring_to_answer_s),
                     mean_talk_s=handle, mean_wrap_s=0.0, no_answer_timeout_s=float(round(est.no_answer_timeout_s)),
                     handle_sigma=round(est.handle_sigma, 1),
                     handle_shape=rel(est.handle_shape) if est.handle_shape else 0.0,
                     ring_cdf=tuple(round(x, 1) for x in est.ring_cdf))


_models: dict[Estimates, QueueModel] = {}
_last: tuple[Estimates, float, QueueModel] | None = None


_last_law: tuple[Estimates, Estimates] | None = None


def _law(est: Estimates) -> Estimates:
    """``_quantized(est)``, kept for the estimates object last asked about (a decision asks twice)."""
    global _last_law
    if _last_law is None or _last_law[0] is not est:
        _last_law = (est, _quantized(est))
    return _last_law[1]


def model_for(est: Estimates, step_s: float) -> QueueModel:
    """The model of these estimates (rounded, see ``_quantized``), built once and reused."""
    global _last
    if _last is not None and _last[0] is est and _last[1] == step_s:
        return _last[2]
    key = _quantized(est)
    model = _models.get(key)
    if model is None or model.step_s != step_s:
        if len(_models) >= 64:
            _models.pop(next(iter(_models)))
        model = _models[key] = build(key, step_s)
    _last = (est, step_s, model)
    return model


def largest_safe_dials_queued(snapshot: Snapshot, alpha: float, n_max: int, safe_harbor_s: float) -> int:
    """Largest n in [0, n_max] with expected abandons ≤ α·expected answers; −1 if even 0 exceeds it."""
    if snapshot.logged_in == 0 or n_max < 0:
        return -1
    model = model_for(snapshot.estimates, safe_harbor_s)
    rows = _rows(model, snapshot)
    answers, frees = rows
    base = snapshot.waiting_answered + float(answers.sum())
    per_call = float(model.new_steps.sum())
    supply = snapshot.free_operators + float(frees.sum())
    if (1.0 - alpha) * base > supply:
        return -1          # the answers already on their way exceed every operator who could take them
    means = _new_means(model, snapshot, n_max)
    new_answers = per_call * np.arange(n_max + 1) if means is None else means.sum(axis=0)
    n_max = min(n_max, _deficit_bound(snapshot.free_operators, snapshot.waiting_answered, float(frees.sum()),
                                      float(answers.sum()), per_call, alpha, n_max, new_answers))
    if n_max <= 0:
        return n_max       # 0 or −1: the bound alone decides (the caller dials its floor either way)
    losses, base, _ = expected_losses(model, snapshot, n_max, rows)
    budget = alpha * (base + new_answers[: n_max + 1]) + 1e-9
    bad = np.flatnonzero(losses > budget)
    return int(bad[0]) - 1 if bad.size else n_max


def _deficit_bound(idle: int, waiting: int, frees: float, answers: float, per_call: float, alpha: float,
                   n_max: int, new_answers: np.ndarray | None = None) -> int:
    """Largest n the queue could possibly accept, without stepping through it.

    In the queue an answer is only served by an operator idle now or one who frees, so abandons are at
    least the deficit at the end of the horizon, (answers − idle − frees)⁺, on every path. The totals are
    Poisson (sums of the steps' Poisson counts), so its expectation is exact and cheap for every n at
    once; where it alone exceeds α·answers no stepping is needed.
    """
    # Poisson answers, per n (``new_answers``: the first n new calls' expected answers, when each has its own)
    lam = answers + (per_call * np.arange(n_max + 1, dtype=float) if new_answers is None else new_answers[: n_max + 1])
    top = int(frees + 8.0 * math.sqrt(frees) + 8.0)
    s = np.arange(top + 1)
    p_s = np.exp(s * math.log(max(frees, 1e-300)) - frees - gammaln(s + 1.0))  # P(frees = s)
    c = idle - waiting + s                                                   # operators for the answers
    c_top = max(int(c.max()), 0)
    k = np.arange(c_top + 1)
    pmf = np.exp(k[None, :] * np.log(np.maximum(lam, 1e-300))[:, None] - lam[:, None] - gammaln(k + 1.0)[None, :])
    # E[(X − c)⁺] = λ − c + Σ_{j<c} P(X ≤ j) for a Poisson X and c ≥ 0
    below = np.concatenate((np.zeros((lam.size, 1)), np.cumsum(np.cumsum(pmf, axis=1), axis=1)), axis=1)
    deficit = lam[:, None] - c[None, :] + below[:, np.clip(c, 0, c_top + 1)] * (c >= 0)[None, :]
    expected = (deficit * p_s[None, :]).sum(axis=1) + waiting
    bad = np.flatnonzero(expected > alpha * (waiting + lam) + 1e-9)
    return int(bad[0]) - 1 if bad.size else n_max


