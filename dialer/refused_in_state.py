"""What an operator is told when a button does not fit the state they are in: the state in words and what
to do, never the engine's name for it (``logged_out``, ``wrap_up``, ``reserved``)."""

from __future__ import annotations

from dialer.floor import OperatorState


def refused_in_state(action: str, state: OperatorState) -> str:
    """``action`` as the person would say it: "pause", "dial", "be ready"."""
    match state:
        case OperatorState.OFFLINE:
            return "log in first"
        case OperatorState.LOGGING_IN:
            return "your phone is being called: answer it first"
        case OperatorState.RESERVED | OperatorState.ON_CALL:
            return f"cannot {action} during a call; finish it first"
        case OperatorState.WRAP_UP:
            return f"cannot {action} in wrap-up: save the disposition first"
        case OperatorState.PAUSED if action == "pause":
            return "already paused"
        case _:
            return f"cannot {action} while {state.value.replace('_', ' ')}"
