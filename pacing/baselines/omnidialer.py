"""OMniDialer's throttled predictive pacer.

Read from github.com/Freetech-Solutions/omnidialer:
- workers/handle-campaign/src/handler/predictive_pacer.py — compute_gamma (γ = aggressiveness while the
  drop rate D ≤ D_max/2, then linear down to gamma_floor 0.2 at D_max, 0 above), compute_c_dial
  (C = floor((A_free + A_expected − C_ringing·P_hit) / P_hit · γ), P_hit floored at 0.05),
  decide_predictive_pace (warm-up or no P_hit → progressive R=1; latched throttle → progressive; D ≥ D_max
  without latch → γ = gamma_floor);
- docs/dialer_modes.md — the tick (DIALER_PREDICTIVE_TICK_MS 1000 ms), A_expected = Σ over busy agents of
  1 − exp(−t_ring / max(1 s, μ − elapsed)) with t_ring = mean ring time of answered calls (ART, 15 s until
  measured) and μ = AHT on call, ACW in wrap-up; P_HIT an EWMA (α 0.1) over dial outcomes; DROP_RATE_EWMA
  (α 0.1) moving to 1 on each abandon and to 0 on each answer; warm-up until 50 calls completed with an
  agent; throttle latch after 5 consecutive ticks with D ≥ D_max (0.03), released below 0.8·D_max;
  progressive R=1 = ceil(A_free·boost) − (ringing + waiting); boost (aggressiveness) 1.0.

Modelling choice: ``max_channels`` is a per-campaign figure with no default; we give it 3 channels per
operator (all channels, talking ones included), the same order as VICIdial's maximum level.
"""

from __future__ import annotations

import math

from pacing.day import DayFloor


class OmniDialerPacer:
    name = "omnidialer"

    def __init__(self, d_max: float = 0.03, aggressiveness: float = 1.0, gamma_floor: float = 0.2,
                 p_hit_floor: float = 0.05, warmup: int = 50, ewma: float = 0.1, streak_k: int = 5,
                 exit_ratio: float = 0.8, default_art_s: float = 15.0, channels_per_operator: float = 3.0) -> None:
        self.d_max, self.aggressiveness, self.gamma_floor = d_max, aggressiveness, gamma_floor
        self.p_hit_floor, self.warmup, self.ewma = p_hit_floor, warmup, ewma
        self.streak_k, self.exit_ratio = streak_k, exit_ratio
        self.channels_per_operator = channels_per_operator
        self.p_hit: float | None = None
        self.drop_rate = 0.0
        self.art_sum, self.art_count, self.default_art_s = 0.0, 0, default_art_s
        self.att_sum = self.acw_sum = 0.0
        self.att_count = 0
        self.streak = 0
        self.latched = False
        self._next_tick = 0.0

    def on_dial_end(self, now: float, live: bool, machine: bool, ring_s: float) -> None:
        hit = 1.0 if live else 0.0
        self.p_hit = hit if self.p_hit is None else self.p_hit + self.ewma * (hit - self.p_hit)
        if live:
            self.drop_rate += self.ewma * (0.0 - self.drop_rate)
            self.art_sum += ring_s
            self.art_count += 1

    def on_connect(self, now: float) -> None:
        pass

    def on_abandon(self, now: float) -> None:
        self.drop_rate += self.ewma * (1.0 - self.drop_rate)

    def on_handle_end(self, now: float, talk_s: float, wrap_s: float) -> None:
        self.att_sum += talk_s
        self.acw_sum += wrap_s
        self.att_count += 1

    def _gamma(self) -> float:
        d = self.drop_rate
        if d >= self.d_max:
            return 0.0
        half = 0.5 * self.d_max
        if d <= half:
            return self.aggressiveness
        return self.aggressiveness + (d - half) / (self.d_max - half) * (self.gamma_floor - self.aggressiveness)

    def decide(self, floor: DayFloor) -> int:
        now = floor.now
        if now < self._next_tick:
            return 0
        while self._next_tick <= now:
            self._next_tick += 1.0
        # throttle streak / latch, once per tick
        if self.drop_rate >= self.d_max:
            self.streak += 1
            if self.streak >= self.streak_k:
                self.latched = True
        else:
            self.streak = 0
            if self.latched and self.drop_rate < self.exit_ratio * self.d_max:
                self.latched = False
        in_flight = len(floor.ringing) + len(floor.waiting)
        channels = math.floor(self.channels_per_operator * floor.operators) - in_flight - len(floor.busy)
        if self.att_count < self.warmup or self.p_hit is None or self.latched:
            wanted = math.ceil(floor.free_count * self.aggressiveness) - in_flight
            return max(0, min(wanted, channels))
        gamma = self._gamma()
        if gamma <= 0:
            gamma = min(self.gamma_floor, self.aggressiveness)
        p = max(self.p_hit, self.p_hit_floor)
        t_ring = self.art_sum / self.art_count if self.art_count else self.default_art_s
        aht = (self.att_sum + self.acw_sum) / self.att_count
        acw = self.acw_sum / self.att_count
        expected = 0.0
        for start, talk_end in floor.busy.values():
            if now < talk_end:                      # ONCALL: residual of the whole handle time
                remaining = max(1.0, aht - (now - start))
            else:                                   # after-call work
                remaining = max(1.0, acw - (now - talk_end))
            expected += 1.0 - math.exp(-t_ring / remaining)
        raw = (floor.free_count + expected - len(floor.ringing) * p) / p * gamma
        return max(0, min(math.floor(raw), max(0, channels)))
