from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.policies import PacingSettings, calls_to_place, lines_room, progressive
from pacing.predictive import largest_safe_dials
from pacing.snapshot import Estimates, Snapshot

WARM = Estimates(answer_rate=0.25, mean_ring_to_answer_s=12.0, mean_talk_s=120.0, mean_wrap_s=10.0,
                 samples=500, handle_sigma=0.8)


@st.composite
def snapshots(draw, warm: bool = True):
    free = draw(st.integers(0, 12))
    busy = draw(st.lists(st.floats(0, 900), max_size=30))
    ringing = draw(st.lists(st.floats(0, 30), max_size=40))
    waiting = draw(st.integers(0, 3))
    est = Estimates(answer_rate=draw(st.floats(0.02, 0.9)), mean_ring_to_answer_s=draw(st.floats(3, 20)),
                    mean_talk_s=draw(st.floats(20, 400)), mean_wrap_s=draw(st.floats(0, 30)),
                    samples=500 if warm else draw(st.integers(0, PacingSettings().warmup_answers - 1)),
                    handle_sigma=draw(st.floats(0.2, 1.5)))
    return Snapshot(free, tuple(busy), tuple(ringing), waiting, est)


modes = st.sampled_from(["preview", "progressive", "ratio", "predictive"])


@settings(max_examples=150, deadline=None)
@given(snapshots(), modes, st.floats(0.0, 0.2))
def test_no_policy_ever_asks_for_a_negative_number_of_calls(snapshot, mode, alpha):
    assert calls_to_place(snapshot, PacingSettings(mode=mode), alpha) >= 0


@settings(max_examples=150, deadline=None)
@given(snapshots(), modes)
def test_every_policy_respects_the_lines_per_operator_cap(snapshot, mode):
    cfg = PacingSettings(mode=mode, max_lines_per_operator=2.0)
    n = calls_to_place(snapshot, cfg)
    in_flight = len(snapshot.ringing_elapsed_s) + snapshot.waiting_answered
    assert n == 0 or in_flight + n <= 2.0 * snapshot.logged_in


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_progressive_places_one_call_per_uncovered_free_operator(snapshot):
    expected = max(0, snapshot.free_operators - len(snapshot.ringing_elapsed_s) - snapshot.waiting_answered)
    expected = min(expected, lines_room(snapshot, PacingSettings()))
    assert calls_to_place(snapshot, PacingSettings(mode="progressive")) == expected


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_preview_never_dials(snapshot):
    assert calls_to_place(snapshot, PacingSettings(mode="preview")) == 0


@settings(max_examples=150, deadline=None)
@given(snapshots(), st.floats(0.001, 0.2))
def test_predictive_never_dials_less_than_progressive(snapshot, alpha):
    cfg = PacingSettings(mode="predictive")
    assert calls_to_place(snapshot, cfg, alpha) >= progressive(snapshot, cfg)


@settings(max_examples=60, deadline=None)
@given(snapshots(warm=False))
def test_predictive_stays_progressive_during_warm_up(snapshot):
    cfg = PacingSettings(mode="predictive")
    assert calls_to_place(snapshot, cfg, 0.1) == progressive(snapshot, cfg)


def test_predictive_overdials_free_operators_within_the_abandonment_bound():
    # 4 free operators, answer rate 0.25: dialing more than 4 is safe most of the time
    snap = Snapshot(4, (50.0,) * 6, (), 0, WARM)
    n = calls_to_place(snap, PacingSettings(mode="predictive"), 0.025)
    assert n > 4
    assert calls_to_place(snap, PacingSettings(mode="predictive"), 0.1) >= n


def test_predictive_holds_back_when_operators_just_started_talking():
    snap = Snapshot(0, (1.0,) * 10, (), 0, WARM)
    assert calls_to_place(snap, PacingSettings(mode="predictive", busy_credit=True), 0.025) == 0


def test_more_tolerance_never_means_fewer_calls():
    snap = Snapshot(2, (30.0, 90.0, 150.0, 300.0, 45.0), (3.0, 8.0), 0, WARM)
    counts = [calls_to_place(snap, PacingSettings(mode="predictive"), a) for a in (0.005, 0.025, 0.1, 0.3)]
    assert counts == sorted(counts)


def test_exact_and_normal_laws_agree_on_a_large_floor():
    snap = Snapshot(12, (), tuple(float(x % 20) for x in range(40)), 0, WARM)
    exact = largest_safe_dials(snap, 0.025, 120, exact_terms=10_000)
    small_path = largest_safe_dials(snap, 0.025, 120, exact_terms=20)
    assert abs(exact - small_path) <= 2


def test_plain_python_and_fft_convolutions_give_the_same_answer():
    snap = Snapshot(4, (), (2.0, 11.0, 4.0, 15.0, 7.5), 0, WARM)
    small = largest_safe_dials(snap, 0.025, 9)
    from pacing import predictive
    saved = predictive.SMALL_TERMS
    predictive.SMALL_TERMS = 0
    try:
        fft = largest_safe_dials(snap, 0.025, 9, exact_terms=10_000)
    finally:
        predictive.SMALL_TERMS = saved
    assert small == fft and small > 0


def test_busy_operators_are_left_to_the_queue_model():
    # The law of answers over the free operators alone: busy operators neither add nor take supply here.
    ringing = (3.0, 8.0, 12.0)
    alone = largest_safe_dials(Snapshot(3, (), ringing, 0, WARM), 0.025, 30)
    assert largest_safe_dials(Snapshot(3, (5.0, 60.0, 400.0), ringing, 0, WARM), 0.025, 30) == alone
    assert largest_safe_dials(Snapshot(0, (5.0, 60.0), ringing, 0, WARM), 0.025, 30) == -1


def test_unknown_mode_is_refused_with_the_setting_named():
    import pytest

    from pacing.policies import PacingSettingsError
    with pytest.raises(PacingSettingsError, match="mode"):
        PacingSettings(mode="turbo")
    with pytest.raises(PacingSettingsError, match="target_abandon"):
        PacingSettings(target_abandon=0.05, abandon_cap=0.03)


def test_busy_operators_are_not_credited_until_the_handle_time_is_settled():
    # 2 free, 20 operators 100-160 s into their calls: crediting them dials 6, the free two alone allow 3
    snap = Snapshot(2, tuple(100.0 + 3 * k for k in range(20)), (), 0, WARM)
    credited = calls_to_place(snap, PacingSettings(mode="predictive", busy_credit=True), 0.025)
    free_only = calls_to_place(snap, PacingSettings(mode="predictive", busy_credit=False), 0.025)
    assert credited > free_only
    unsettled = replace(snap, estimates=replace(WARM, handle_settled=False))
    assert calls_to_place(unsettled, PacingSettings(mode="predictive", busy_credit=True), 0.025) == free_only
