-- Compliance: several DNC sources per number, registry copies with their dates, per-campaign rules,
-- and the indexes the per-number caps and the abandonment ledger read.

-- A number may be on the company list, a campaign list and a registry at once; each source keeps its own
-- row, so replacing one registry copy never removes another source's entry.
ALTER TABLE dnc DROP CONSTRAINT dnc_pkey;
ALTER TABLE dnc ADD PRIMARY KEY (phone, scope, source);

-- One row per imported registry (e.g. the US National DNC Registry): the copy's own date decides whether
-- dialing is still allowed (the FTC safe harbor wants a copy no older than 31 days).
CREATE TABLE dnc_registry (
    name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]+$'),
    copy_date   date NOT NULL,
    imported_at timestamptz NOT NULL,
    entries     integer NOT NULL CHECK (entries >= 0),
    file_name   text
);

-- The compliance rules of a campaign (no row = no preset, no campaign windows).
CREATE TABLE campaign_compliance (
    campaign_id             bigint PRIMARY KEY REFERENCES campaign(id) ON DELETE CASCADE,
    preset                  text CHECK (preset IN ('US', 'UK', 'RU')),
    windows                 jsonb,            -- campaign windows in the callee's local time (compliance/windows.py)
    holidays                date[] NOT NULL DEFAULT '{}',
    registries              text[] NOT NULL DEFAULT '{}',  -- registries this campaign must have fresh; '{}' = all
    registry_max_age_days   integer NOT NULL DEFAULT 31 CHECK (registry_max_age_days > 0),
    amd_false_positive_rate double precision NOT NULL DEFAULT 0
                            CHECK (amd_false_positive_rate >= 0 AND amd_false_positive_rate < 1)
);

CREATE INDEX attempt_phone_time ON attempt (phone, claimed_at);
CREATE INDEX attempt_campaign_answered ON attempt (campaign_id, answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX attempt_abandoned_phone ON attempt (phone, answered_at) WHERE abandoned;
