-- Alternate numbers are dialed: after a failed attempt the next attempt goes to the lead's next number.

-- The candidate zones of dial_phone when it is not lead.phone (an alternate, or a callback's other number):
-- calling hours are those of the number dialed. NULL: the lead's own timezone_set.
ALTER TABLE lead ADD COLUMN dial_timezone_set integer;
-- Numbers found invalid or disconnected (the network said so): never dialed again.
ALTER TABLE lead ADD COLUMN dead_phones text[] NOT NULL DEFAULT '{}';

-- Leads without a zone set (dialed by hand) are few; the gate finds their zones through this index
-- instead of reading every lead of the campaign.
CREATE INDEX lead_without_zone_set ON lead (campaign_id, timezone) WHERE timezone_set IS NULL AND state = 'ready';

-- Who last talked to a lead (sticky routing, read by the claim): the newest attempt of one lead, read
-- straight from the index (with attempt_lead alone the planner walked the whole attempt table backwards).
CREATE INDEX attempt_lead_newest ON attempt (lead_id, id);
DROP INDEX attempt_lead;
