-- A code that calls were given is retired, not deleted: the attempts, the leads' last code and the reports
-- still read it, but the console no longer offers it and a new wrap-up may not choose it.
ALTER TABLE disposition ADD COLUMN retired_at timestamptz;

-- A catalogue file used to replace the whole catalogue, so a campaign may have lost the opt-out or the
-- callback code, on which the engine acts (DNC list, callback scheduling): give them back, with their effect.
INSERT INTO disposition (campaign_id, code, label, final, schedules_callback)
SELECT DISTINCT campaign_id, 'do_not_call', 'Do not call me (opt-out)', true, false FROM disposition
ON CONFLICT DO NOTHING;
INSERT INTO disposition (campaign_id, code, label, final, schedules_callback)
SELECT DISTINCT campaign_id, 'callback', 'Call back later', false, true FROM disposition
ON CONFLICT DO NOTHING;
UPDATE disposition SET final = true, follow_up_days = NULL, retry_after_s = NULL, schedules_callback = false,
                       retired_at = NULL
WHERE code = 'do_not_call';
UPDATE disposition SET final = false, follow_up_days = NULL, retry_after_s = NULL, schedules_callback = true,
                       retired_at = NULL
WHERE code = 'callback';
