-- The store is also the bus between the engine and the people's views (DESIGN §6).
-- Engine → views: one snapshot row per engine, rewritten about once a second, announced by
-- NOTIFY dialer_snapshot. Views → engine: command rows announced by NOTIFY dialer_command; the owning
-- engine applies them and stamps done_at (and result when refused).

CREATE TABLE engine_snapshot (
    engine      text PRIMARY KEY,
    at          timestamptz NOT NULL,
    doc         jsonb NOT NULL
);

CREATE TABLE operator_command (
    id          bigserial PRIMARY KEY,
    operator_id bigint NOT NULL REFERENCES operator(id) ON DELETE CASCADE,
    command     text NOT NULL CHECK (command IN ('login', 'ready', 'pause', 'logout', 'disposition', 'dial', 'spy')),
    args        jsonb NOT NULL DEFAULT '{}',
    actor       text NOT NULL,
    created_at  timestamptz NOT NULL,
    done_at     timestamptz,
    result      text
);
CREATE INDEX operator_command_pending ON operator_command (id) WHERE done_at IS NULL;
