-- Campaign groups: several campaigns share one pool of operators (the union of their
-- campaign_operator sets) and one pacing loop. A campaign belongs to at most one group; its share is a
-- weight of the pool's operator handle time, normalized over the members that have leads to dial.

CREATE TABLE campaign_group (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    reserved      integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),   -- operators kept free (never dialed for)
    pacing        jsonb NOT NULL DEFAULT '{}',   -- the members' default pacing settings (optimization target)
    group_ledger  boolean NOT NULL DEFAULT false, -- also bind the abandonment cap over the whole group
    created_at    timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE campaign
    ADD COLUMN group_id bigint REFERENCES campaign_group(id) ON DELETE SET NULL,
    ADD COLUMN group_share double precision NOT NULL DEFAULT 1 CHECK (group_share > 0),
    ADD COLUMN group_priority integer NOT NULL DEFAULT 0;
CREATE INDEX campaign_group_members ON campaign (group_id) WHERE group_id IS NOT NULL;

-- Group settings are audited like campaign ones; a member's share or priority has both ids.
ALTER TABLE audit ADD COLUMN group_id bigint REFERENCES campaign_group(id) ON DELETE CASCADE;
