-- `no_code`: the call reached an operator, but the wrap-up ended (wrap_up_max_s, or Ready) before the operator
-- chose a code, and the engine ended the wrap-up. Like `unknown`, it finishes the lead until the operator
-- or a manager sets the real code.
INSERT INTO system_disposition (code, label) VALUES
    ('no_code', 'No code: the wrap-up ended (time limit, or Ready) before the operator chose one; to be set by the operator or a manager')
ON CONFLICT (code) DO NOTHING;
