-- A campaign may ask for smoothness: the worst rolling 60 minutes held under `max_hour_abandon`, a key of its
-- pacing document. It only ever tightens the law's cap (checked against the campaign's preset by compliance,
-- which owns the cap); the store keeps out what can never be a rate.
ALTER TABLE campaign ADD CONSTRAINT campaign_max_hour_abandon_rate CHECK (
    NOT pacing ? 'max_hour_abandon'
    OR jsonb_typeof(pacing -> 'max_hour_abandon') = 'null'
    OR (jsonb_typeof(pacing -> 'max_hour_abandon') = 'number'
        AND (pacing ->> 'max_hour_abandon')::double precision > 0
        AND (pacing ->> 'max_hour_abandon')::double precision <= 1));
