"""VICIdial's adaptive predictive dial methods: ADAPT_HARD_LIMIT, ADAPT_TAPERED, ADAPT_AVERAGE.

Read from astguiclient as mirrored at github.com/ccabrerar/vicidial:
- bin/AST_VDadapt.pl — sub count_agents_lines (once a second: ready agents, calls waiting for an agent
  ('LIVE' in vicidial_auto_calls) and all logged-in agents; averaged over the last 15 samples), sub
  calculate_dial_level (every 15 s: differential = avg ready − avg waiting (+ adaptive_dl_diff_target);
  level × (1 + differential / avg agents), with adaptive_intensity 0 leaving it unchanged; capped at
  adaptive_maximum_level, floored at 1.0; then the drop rules: over 50 % drops of the last minute's
  calls (with more than 20 calls) halves it; when today's drops/answers exceed adaptive_dropped_percentage
  (with more than 50 calls today) HARD_LIMIT sets 1.0, AVERAGE halves, TAPERED multiplies by
  (adaptive_latest_server_time − now as HHMM)/1000 capped at 1, or 1.0 once past that time),
  sub calculate_drops (drop statistics refreshed once a minute);
- bin/AST_VDauto_dial.pl — every loop_delay 2500 ms: goal = round(auto_dial_level × agents in READY,
  QUEUE, INCALL or DONE), calls to place = goal − calls in SENT/RINGING/LIVE/XFER/CLOSER (ringing,
  waiting and talking calls);
- extras/MySQL_AST_CREATE_tables.sql — defaults: adaptive_dropped_percentage 3, adaptive_maximum_level
  3.0, adaptive_latest_server_time 2100, adaptive_intensity 0, adaptive_dl_diff_target 0;
- docs/PREDICTIVE.txt — the description of the three methods.

Checked against that source a second time, line by line, because the TAPERED figures look bad for
VICIdial: the day's drop rate is drops over *answered* calls (VCSdrops_answers_today_pct in
calculate_drops), acted on only with more than 50 calls today (VCScalls_today); TAPERED's factor is
(adaptive_latest_server_time − current HHMM) / 1000 on clock digits, 1 while more than 1000 remain (before
11:00 with the default 2100), never a share of the shift elapsed; the level is clamped to
[1.0, adaptive_maximum_level] before the drop rules and raised to 1.0 again after them; AST_VDauto_dial.pl
rounds the goal with sprintf("%.0f"), as Python's round does (half to even).

Modelling choices: the day starts at 09:00 server time (for TAPERED's clock); the level starts at 1.0;
an operator in wrap-up is PAUSED (VICIdial's disposition screen), so neither counted nor talking.
"""

from __future__ import annotations

from collections import deque

from pacing.day import DayFloor


class VicidialAdapt:
    def __init__(self, method: str = "ADAPT_TAPERED", dropped_percentage: float = 3.0, maximum_level: float = 3.0,
                 latest_server_time: int = 2100, dl_diff_target: float = 0.0, intensity: float = 0.0,
                 day_start_hhmm: int = 900, initial_level: float = 1.0) -> None:
        if method not in ("ADAPT_HARD_LIMIT", "ADAPT_TAPERED", "ADAPT_AVERAGE"):
            raise ValueError(f"unknown VICIdial dial method {method!r}")
        self.method = method
        self.name = "vicidial-" + method.removeprefix("ADAPT_").lower().replace("_", "-")
        self.dropped_percentage = dropped_percentage
        self.maximum_level = maximum_level
        self.latest_server_time = latest_server_time
        self.dl_diff_target = dl_diff_target
        self.intensity = intensity
        self.day_start_hhmm = day_start_hhmm
        self.level = initial_level
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=15)   # (ready, waiting, agents) per second
        self._next_sample = 0.0
        self._next_level = 15.0
        self._next_drops = 60.0
        self._next_place = 0.0
        # running counts, and the figures calculate_drops last published (once a minute)
        self.calls_today = self.answers_today = self.drops_today = 0
        self._minute: deque[tuple[float, bool]] = deque()              # (time, dropped) per call, last minute
        self._stats = (0, 0.0, 0, 0.0)  # calls_today, drops/answers today %, calls last minute, drops % last minute

    # ---- what happens on the floor --------------------------------------------------------------

    def on_dial_end(self, now: float, live: bool, machine: bool, ring_s: float) -> None:
        self.calls_today += 1
        self.answers_today += live
        self._minute.append((now, False))

    def on_connect(self, now: float) -> None:
        pass

    def on_abandon(self, now: float) -> None:
        self.drops_today += 1
        self._minute.append((now, True))

    def on_handle_end(self, now: float, talk_s: float, wrap_s: float) -> None:
        pass

    # ---- the two scripts -------------------------------------------------------------------------

    def _hhmm(self, now: float) -> int:
        minutes = (self.day_start_hhmm // 100) * 60 + self.day_start_hhmm % 100 + int(now // 60)
        return (minutes // 60) * 100 + minutes % 60

    def _calculate_drops(self, now: float) -> None:
        while self._minute and self._minute[0][0] <= now - 60.0:
            self._minute.popleft()
        calls_one = sum(1 for _, dropped in self._minute if not dropped)
        drops_one = sum(1 for _, dropped in self._minute if dropped)
        pct_one = 100.0 * drops_one / calls_one if calls_one else 0.0
        pct_today = 100.0 * self.drops_today / self.answers_today if self.answers_today else 0.0
        self._stats = (self.calls_today, pct_today, calls_one, pct_one)

    def _calculate_dial_level(self, now: float) -> None:
        if not self._samples:
            return
        n = len(self._samples)
        ready = sum(s[0] for s in self._samples) / n
        waiting = sum(s[1] for s in self._samples) / n
        agents = sum(s[2] for s in self._samples) / n
        target = ready - waiting + self.dl_diff_target
        mul = target / agents if target != 0 and agents != 0 else 0.0
        factor = self.intensity / 100.0
        intensity_mul = mul * abs(factor - 1.0) if mul < 0 else mul * (factor + 1.0)
        level = self.level * (intensity_mul + 1.0)
        level = min(level, self.maximum_level)
        level = max(level, 1.0)
        calls_today, pct_today, calls_one, pct_one = self._stats
        if calls_one > 20 and pct_one > 50:
            level /= 2
        if calls_today > 50 and pct_today > self.dropped_percentage:
            hours_left = self.latest_server_time - self._hhmm(now)
            if self.method == "ADAPT_HARD_LIMIT":
                level = 1.0
            elif self.method == "ADAPT_AVERAGE":
                level /= 2
            elif hours_left < 0:
                level = 1.0
            else:
                level *= 1.0 if hours_left > 1000 else hours_left / 1000.0
        self.level = max(level, 1.0)

    def decide(self, floor: DayFloor) -> int:
        now = floor.now
        while now >= self._next_sample:
            self._samples.append((floor.free_count, len(floor.waiting), floor.operators))
            self._next_sample += 1.0
        if now >= self._next_drops:
            self._calculate_drops(now)
            self._next_drops += 60.0
        if now >= self._next_level:
            self._calculate_dial_level(now)
            self._next_level += 15.0
        if now < self._next_place:
            return 0
        while self._next_place <= now:
            self._next_place += 2.5
        talking = floor.talking_count()
        agents = floor.free_count + talking            # READY + INCALL; wrap-up is PAUSED
        goal = round(self.level * agents)
        existing = len(floor.ringing) + len(floor.waiting) + talking
        return max(0, goal - existing)
