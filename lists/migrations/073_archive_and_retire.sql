-- A campaign that is done is archived, not deleted: its attempts, reports and audit stay readable.
ALTER TABLE campaign DROP CONSTRAINT campaign_state_check;
ALTER TABLE campaign ADD CONSTRAINT campaign_state_check
    CHECK (state IN ('paused', 'running', 'finished', 'archived'));

-- An operator who leaves is retired, not deleted, once they have taken a call: attempts name them. The
-- name and extension become free for a newcomer, so uniqueness holds among active operators only.
ALTER TABLE operator ADD COLUMN retired_at timestamptz;
ALTER TABLE operator DROP CONSTRAINT operator_name_key;
ALTER TABLE operator DROP CONSTRAINT operator_extension_key;
CREATE UNIQUE INDEX operator_active_name ON operator (name) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX operator_active_extension ON operator (extension) WHERE retired_at IS NULL;

-- Changes to operators are audited like campaign settings.
ALTER TABLE audit ADD COLUMN operator_id bigint REFERENCES operator(id) ON DELETE CASCADE;
