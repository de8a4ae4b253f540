-- An operator's conversations by time: a starting engine reads each operator's calls and talk of the day
-- (lists.operators.day_figures), so the console's counters survive a restart.
CREATE INDEX attempt_operator_connected ON attempt (operator_id, connected_at) WHERE connected_at IS NOT NULL;
