from ami.events import translate
from ami.pbx import OptedOut
from ami.wire import Message


def test_the_opt_out_user_event_becomes_a_typed_event() -> None:
    message = Message.of(Event="UserEvent", Privilege="user,all", Channel="PJSIP/trunk-00000001",
                         Uniqueid="attempt-7", UserEvent="DialerOptOut", AttemptId="7")
    assert translate(message) == OptedOut("attempt-7")


def test_the_rating_user_event_becomes_a_typed_event_and_a_bad_score_is_dropped() -> None:
    from ami.pbx import CallRated

    good = Message.of(Event="UserEvent", Uniqueid="attempt-7", UserEvent="DialerRating", Score="4")
    bad = Message.of(Event="UserEvent", Uniqueid="attempt-7", UserEvent="DialerRating", Score="")
    assert translate(good) == CallRated("attempt-7", 4)
    assert translate(bad) is None
