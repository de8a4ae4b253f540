-- Writes the engine could not apply (a disposition the campaign no longer knows, a row a constraint
-- refuses): set aside here, one row each, so the rest of the record-keeping goes on and a person can
-- read what was lost and fix it by hand (`dialer db dead-letters`).
CREATE TABLE dead_letter (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    engine text NOT NULL,
    what text NOT NULL,           -- the write, as the engine names it ("disposition 42 sale")
    error text NOT NULL,          -- why it could not be applied
    payload jsonb                 -- its arguments, where they could be written down
);
CREATE INDEX dead_letter_at ON dead_letter (at);
