"""The search of the largest n worth weighing (``pacing.mixed_answers``): where even n = 0 breaks the
bound it stops before summing the planned calls, with the answer and budget of the whole search."""

from __future__ import annotations

import numpy as np

from pacing import mixed_answers


def _whole_search(mean: np.ndarray, waiting: int, base_answers: float, operators: int, new_terms: np.ndarray,
                  new_answers: np.ndarray, alpha: float) -> tuple[int, np.ndarray]:
    room = operators - waiting
    budget = alpha * (waiting + base_answers + np.concatenate(([0.0], np.cumsum(new_answers)))) + 1e-9
    means = mean + np.concatenate((np.zeros((1, mean.shape[0])), np.cumsum(new_terms, axis=0)))
    broken = np.flatnonzero((means.max(axis=1) - room) > budget)
    n_max = min(int(broken[0]) - 1 if broken.size else new_terms.shape[0], new_terms.shape[0])
    return n_max, budget[:max(n_max, 0) + 1]


def test_the_search_stopped_at_n_0_answers_as_the_whole_search() -> None:
    rng = np.random.default_rng(5)
    stopped = 0
    for _ in range(2000):
        checkpoints, planned = int(rng.integers(1, 12)), int(rng.integers(0, 400))
        args = (rng.uniform(0.0, rng.uniform(0.0, 200.0), checkpoints), int(rng.integers(0, 20)),
                float(rng.uniform(0.0, 200.0)), int(rng.integers(0, 200)),
                rng.uniform(0.0, rng.uniform(0.0, 0.5), (planned, checkpoints)), rng.uniform(0.0, 0.5, planned),
                float(rng.uniform(0.001, 0.1)))
        n_max, budget = mixed_answers._searched(*args)
        whole_n, whole_budget = _whole_search(*args)
        assert n_max == whole_n and np.array_equal(budget, whole_budget)
        stopped += n_max < 0
    assert 100 < stopped < 1900            # both the stop at n = 0 and the search past it were compared
