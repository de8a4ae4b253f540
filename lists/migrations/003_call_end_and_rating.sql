-- The operator may end a call and send the customer to a short rating menu (1-5); the score is
-- stored on the attempt and shown in operator reports.
ALTER TABLE attempt ADD COLUMN rating smallint CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE operator_command DROP CONSTRAINT operator_command_command_check;
ALTER TABLE operator_command ADD CONSTRAINT operator_command_command_check
    CHECK (command IN ('login', 'ready', 'pause', 'logout', 'disposition', 'dial', 'spy', 'end_call'));

-- lead_claim_order (010) serves the claim; this older index only slowed imports down.
DROP INDEX IF EXISTS lead_dialable;
