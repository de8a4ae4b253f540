-- Call lists: per-campaign strategy and retry rules, callbacks to another number, per-day attempt caps,
-- every candidate time zone of a number, and an index that serves the claim's order within a category.

-- Time-of-day windows, each ordering the lead categories ('{}' = the built-in default, see lists/strategy.py).
ALTER TABLE campaign ADD COLUMN strategy jsonb NOT NULL DEFAULT '{}';
-- Retry delay and caps per outcome ('{}' = defaults, see lists/retries.py).
ALTER TABLE campaign ADD COLUMN retry_rules jsonb NOT NULL DEFAULT '{}';
-- A personal callback becomes anyone's this long after it falls due.
ALTER TABLE campaign ADD COLUMN personal_callback_grace_s integer NOT NULL DEFAULT 1800
    CHECK (personal_callback_grace_s >= 0);

-- Every zone a number may be in, as a shared set (a Russian mobile may be in any of 16 zones; storing the
-- list on each of a million leads would triple the row size). The claim dials a lead only when every zone of
-- its set is allowed. Sets are never deleted, hence no foreign key (its per-row trigger slows imports).
CREATE TABLE timezone_set (
    id      serial PRIMARY KEY,
    zones   text[] NOT NULL UNIQUE
);
ALTER TABLE lead ADD COLUMN timezone_set integer;
-- The number to dial next when it is not lead.phone (a callback "on another number").
ALTER TABLE lead ADD COLUMN dial_phone text;
-- Attempts on attempts_day (the campaign's local date), for the per-day cap.
ALTER TABLE lead ADD COLUMN attempts_today integer NOT NULL DEFAULT 0;
ALTER TABLE lead ADD COLUMN attempts_day date;

CREATE INDEX lead_claim_order ON lead (campaign_id, category, priority DESC, next_due_at, id) WHERE state = 'ready';

ALTER TABLE disposition ADD COLUMN schedules_callback boolean NOT NULL DEFAULT false;

CREATE INDEX callback_open ON callback (lead_id) WHERE done_at IS NULL;
