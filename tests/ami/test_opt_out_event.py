from ami.events import translate
from ami.pbx import OptedOut
from ami.wire import Message


def test_the_opt_out_user_event_becomes_a_typed_event() -> None:
    message = Message.of(Event="UserEvent", Privilege="user,all", Channel="PJSIP/trunk-00000001",
                         Uniqueid="attempt-7", UserEvent="DialerOptOut", AttemptId="7")
    assert translate(message) == OptedOut("attempt-7")
