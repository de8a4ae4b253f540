-- People who log in (through `dialer serve`): a name, a role, and for an operator the operator row they
-- work as. Only a scrypt hash of the password is kept (its parameters and salt inside the text).
-- Five failed logins in a row lock the account for a while (failed_logins, locked_until).
CREATE TABLE person (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('operator', 'supervisor', 'manager')),
    operator_id   bigint UNIQUE REFERENCES operator(id) ON DELETE SET NULL,
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL,
    CHECK (role <> 'operator' OR operator_id IS NOT NULL OR disabled)
);

-- The campaigns a supervisor watches, tunes, pauses and listens to.
CREATE TABLE supervisor_campaign (
    person_id   bigint NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    PRIMARY KEY (person_id, campaign_id)
);

-- Logins, logouts and failures. A failure for a name nobody has keeps no name: people type their
-- password into the name box.
CREATE TABLE login_audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    person_id  bigint REFERENCES person(id) ON DELETE SET NULL,
    event      text NOT NULL CHECK (event IN ('login', 'logout', 'failed', 'locked', 'refused')),
    reason     text
);
CREATE INDEX login_audit_person ON login_audit (person_id, at);

-- The person who sent a command (NULL: a terminal on the server itself, which holds the store's credentials).
ALTER TABLE operator_command ADD COLUMN person_id bigint REFERENCES person(id) ON DELETE SET NULL;
