-- Which engine runs which campaign when several engines share one store.
-- The PostgreSQL advisory lock (session level, on the owner's dedicated connection) is what makes an
-- owner exclusive; this row says who holds it, since when, and how recently it proved alive.
-- heartbeat_at is the database's own clock (clock_timestamp()): engines may run on different clocks.
-- epoch grows at every change of owner; an engine claims leads only while the row still carries its
-- epoch, so an owner that was stuck and lost the campaign cannot claim after it wakes up.
-- Rows are never deleted by the engines: the epoch keeps growing across owners.
CREATE TABLE campaign_owner (
    campaign_id   bigint PRIMARY KEY REFERENCES campaign(id) ON DELETE CASCADE,
    engine        text NOT NULL,
    epoch         bigint NOT NULL DEFAULT 1,
    backend_pid   integer NOT NULL,
    acquired_at   timestamptz NOT NULL,
    heartbeat_at  timestamptz NOT NULL,
    released_at   timestamptz            -- set when the owner gave the campaign up cleanly (pause, stop):
                                         -- a successor then has nothing of the old owner's to recover
);
