-- A clean stop of the engine leaves a closed logged_out row with the reason 'engine stopped' for each person it
-- logged out; the next start finds them here (lists.operators.stopped_with_engine) and logs them in again.
CREATE INDEX operator_session_engine_stop ON operator_session (operator_id, started_at) WHERE reason = 'engine stopped';
