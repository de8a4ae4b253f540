-- `no_code`: the call reached an operator, but the wrap-up time ran out (wrap_up_max_s) before the operator
-- chose a code, and the engine ended the wrap-up. Like `unknown`, it finishes the lead until the operator
-- or a manager sets the real code.
INSERT INTO system_disposition (code, label) VALUES
    ('no_code', 'No code: the wrap-up time ran out before the operator chose one; to be set by the operator or a manager')
ON CONFLICT (code) DO NOTHING;
