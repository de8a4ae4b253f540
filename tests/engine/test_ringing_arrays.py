"""A campaign's ringing calls kept as arrays (``dialer/ringing.py``): the same calls, starts and chances, in
the order the engine followed them, whatever mix of rings, ends and re-attachments came before."""

from __future__ import annotations

import random

import numpy as np

from dialer.ringing import Ringing


def test_the_arrays_keep_the_order_and_values_a_dict_would_keep_through_many_ends() -> None:
    rng = random.Random(3)
    ringing, model = Ringing(), {}
    for step in range(20_000):
        channel = f"attempt-{rng.randrange(3_000)}"
        if rng.random() < 0.55:
            start, chance = float(step), (None if rng.random() < 0.01 else rng.random())
            ringing.put(channel, start, chance)
            model[channel] = (start, chance)
        else:
            ringing.drop(channel)
            model.pop(channel, None)
        if step % 997 == 0 or step == 19_999:
            assert ringing.items() == [(c, s) for c, (s, _) in model.items()]
            assert ringing.elapsed(20_000.0).tolist() == [20_000.0 - s for s, _ in model.values()]
            chances = [p for _, p in model.values()]
            assert ringing.chances().tolist() == ([] if None in chances else chances)
            assert len(ringing) == len(model)


def test_a_call_followed_again_keeps_its_place_and_takes_its_new_chance() -> None:
    ringing = Ringing()
    ringing.put("a", 1.0, None)
    ringing.put("b", 2.0, 0.2)
    assert ringing.chances().size == 0                 # one call without a chance: none for any
    ringing.put("a", 1.5, 0.4)
    assert ringing.items() == [("a", 1.5), ("b", 2.0)]
    assert np.array_equal(ringing.chances(), [0.4, 0.2])
    ringing.drop("a")
    ringing.drop("a")                                  # a second end changes nothing
    ringing.put("a", 3.0, 0.1)
    assert ringing.items() == [("b", 2.0), ("a", 3.0)]
