"""The setpoint from a confidence bound: how much abandonment the legal window can still take.

A fixed setpoint half a point under the cap is too cautious for a window of thousands of answers (the
day's rate can hardly wander half a point) and too bold for one of a few hundred (a handful of abandons
moves it by more than that). What matters is the chance that the window, once it ends, is over the cap.
When it ends it holds the answers and abandons already counted plus those still to come; the abandons
to come are a count, around the target times the answers to come, spread wider than a Poisson count
(abandons come in bursts: a long call, a lucky run of answers), so a negative binomial with variance
``dispersion`` times its mean. The setpoint is the largest target for which

    P(abandons so far + abandons to come > cap × (answers so far + answers to come)) < risk.

Early in a small window the answers to come are few and the target is low; as the window fills, what is
counted is certain and the target rises towards what the room left allows. Whoever owns the law
(``compliance``) gives the cap and the window; whoever knows the campaign's hours and pace gives the
answers to come.
"""

from __future__ import annotations

import math

from scipy.special import betainc, gammaincc

RISK = 0.01             # P(the window ends over the cap) the setpoint allows
DISPERSION = 1.5        # variance / mean of the abandons still to come


def _below(k: int, mean: float, dispersion: float) -> float:
    """P(X ≤ k) for the abandons to come, X of this mean and variance dispersion × mean."""
    if k < 0:
        return 0.0
    if mean <= 0.0:
        return 1.0
    if dispersion <= 1.0 + 1e-9:
        return float(gammaincc(k + 1, mean))           # Poisson
    r = mean / (dispersion - 1.0)                     # negative binomial: r successes, p = 1/dispersion
    return float(betainc(r, k + 1, 1.0 / dispersion))


def confident_target(cap: float, answers: float, abandons: float, answers_to_come: float,
                     risk: float = RISK, dispersion: float = DISPERSION,
                     answers_in_reach: float | None = None) -> float:
    """The largest abandonment rate (abandons per live answer) the rest of the window may run at with
    P(window over the cap) < ``risk``; 0 when even no more abandons would leave it over.

    ``answers_in_reach``: the answers to come before the next decisions can correct what this one got wrong
    (None: all of them). The bound is asked again at every decision, and each answer counted meanwhile moves
    its target: abandons that came in a burst lower the target for the rest, a quiet stretch raises it. So
    only the abandons within reach are a gamble taken now; those beyond are counted at their mean, at the
    target, since a later decision will aim them at whatever room is left then. Counting the whole rest of a
    day as one draw takes the 1 % once per decision, not once for the window: on a day of 1,000 answers
    it aimed at 1.7 % while the window ended over the cap on far fewer than 1 % of days."""
    if not 0.0 < cap < 1.0 or not 0.0 < risk < 1.0:
        raise ValueError(f"need 0 < cap < 1 and 0 < risk < 1 (got cap={cap}, risk={risk})")
    if answers_to_come <= 0.0:
        return cap
    reach = answers_to_come if answers_in_reach is None else min(max(answers_in_reach, 0.0), answers_to_come)
    later = answers_to_come - reach
    room = cap * (answers + answers_to_come) - abandons

    def safe(target: float) -> bool:
        # over the cap once the abandons within reach exceed what the room leaves after the later ones
        allowed = math.floor(room - target * later + 1e-9)
        return allowed >= 0 and _below(allowed, target * reach, dispersion) >= 1.0 - risk

    if not safe(0.0):
        return 0.0
    if safe(cap):
        return cap
    low, high = 0.0, cap
    for _ in range(40):
        mid = 0.5 * (low + high)
        if safe(mid):
            low = mid
        else:
            high = mid
    return low
