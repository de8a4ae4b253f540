-- The ring time's and the safe harbor's legal bounds are compliance's (compliance/limits.py, per preset):
-- a copy here would disagree with a stricter preset, and say nothing of which law refused.
ALTER TABLE campaign DROP CONSTRAINT campaign_ring_timeout_s_check;
ALTER TABLE campaign DROP CONSTRAINT campaign_safe_harbor_s_check;
ALTER TABLE campaign ADD CONSTRAINT campaign_ring_timeout_s_positive CHECK (ring_timeout_s > 0);
ALTER TABLE campaign ADD CONSTRAINT campaign_safe_harbor_s_positive CHECK (safe_harbor_s > 0);
