-- What each engine publishes for the people's views is its picture of its floor and campaigns; "snapshot" is
-- the pacer's input (pacing.Snapshot) alone. The table and its channel are named after what they hold.
ALTER TABLE engine_snapshot RENAME TO engine_picture;
ALTER TABLE engine_picture RENAME CONSTRAINT engine_snapshot_pkey TO engine_picture_pkey;
