-- Codes the system itself sets, known to every campaign whatever its own catalogue says, and never
-- offered to an operator in wrap-up. `unknown`: the call reached an operator but ended while no engine
-- was running, so nobody recorded what was agreed; the operator or a manager replaces it later.
CREATE TABLE system_disposition (
    code    text PRIMARY KEY,
    label   text NOT NULL
);
INSERT INTO system_disposition (code, label) VALUES
    ('unknown', 'Unknown: ended while no engine ran; to be set by the operator or a manager');
