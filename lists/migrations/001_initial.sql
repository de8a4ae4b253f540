-- The whole store of the dialer. Times are timestamptz and written from the engine's clock
-- (never now()), so a simulated day in virtual time stores the same rows a real day would.

CREATE TABLE campaign (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    state           text NOT NULL DEFAULT 'paused' CHECK (state IN ('paused', 'running', 'finished')),
    mode            text NOT NULL DEFAULT 'progressive'
                    CHECK (mode IN ('preview', 'progressive', 'ratio', 'predictive')),
    pacing          jsonb NOT NULL DEFAULT '{}',
    channel_template text NOT NULL,
    caller_id       text NOT NULL CHECK (btrim(caller_id) <> ''),
    timezone        text NOT NULL DEFAULT 'UTC',
    default_region  text NOT NULL DEFAULT 'US',
    ring_timeout_s  integer NOT NULL DEFAULT 25 CHECK (ring_timeout_s >= 15),
    safe_harbor_s   double precision NOT NULL DEFAULT 2.0 CHECK (safe_harbor_s > 0 AND safe_harbor_s <= 2.0),
    script          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE call_list (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    name        text NOT NULL,
    source      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    rows_loaded integer NOT NULL DEFAULT 0
);

CREATE TABLE lead (
    id              bigserial PRIMARY KEY,
    campaign_id     bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    list_id         bigint REFERENCES call_list(id) ON DELETE SET NULL,
    source_row      integer,
    phone           text NOT NULL,
    alt_phones      text[] NOT NULL DEFAULT '{}',
    timezone        text,
    fields          jsonb NOT NULL DEFAULT '{}',
    category        text NOT NULL DEFAULT 'cold' CHECK (category IN ('cold', 'callback', 'follow_up', 'retry')),
    priority        integer NOT NULL DEFAULT 0,
    state           text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'claimed', 'done')),
    next_due_at     timestamptz NOT NULL DEFAULT '-infinity',
    attempts        integer NOT NULL DEFAULT 0,
    claimed_by      text,
    lease_until     timestamptz,
    owner_operator  bigint,
    last_outcome    text,
    last_disposition text,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX lead_dialable ON lead (campaign_id, next_due_at, priority DESC, id) WHERE state = 'ready';
CREATE INDEX lead_leased ON lead (claimed_by, lease_until) WHERE state = 'claimed';

CREATE TABLE operator (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    extension   text NOT NULL UNIQUE,
    priority    integer NOT NULL DEFAULT 0,
    simulated   boolean NOT NULL DEFAULT false
);

-- "The operators this campaign can use" is a set: an operator may work several campaigns at once.
CREATE TABLE campaign_operator (
    campaign_id bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    operator_id bigint NOT NULL REFERENCES operator(id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, operator_id)
);

CREATE TABLE operator_session (
    id          bigserial PRIMARY KEY,
    operator_id bigint NOT NULL REFERENCES operator(id) ON DELETE CASCADE,
    state       text NOT NULL CHECK (state IN ('logged_in', 'ready', 'on_call', 'wrap_up', 'paused', 'logged_out')),
    reason      text,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX operator_session_open ON operator_session (operator_id) WHERE ended_at IS NULL;

CREATE TABLE attempt (
    id              bigserial PRIMARY KEY,
    lead_id         bigint NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
    campaign_id     bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    phone           text NOT NULL,
    caller_id       text NOT NULL,
    engine          text NOT NULL,
    pbx             text,
    state           text NOT NULL DEFAULT 'originating',
    claimed_at      timestamptz NOT NULL,
    originated_at   timestamptz,
    answered_at     timestamptz,
    connected_at    timestamptz,
    ended_at        timestamptz,
    outcome         text,
    originate_reason integer,
    dial_status     text,
    hangup_cause    integer,
    operator_id     bigint REFERENCES operator(id),
    recording       text,
    abandoned       boolean NOT NULL DEFAULT false,
    disposition     text,
    notes           text,
    script_answers  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX attempt_lead ON attempt (lead_id);
CREATE INDEX attempt_campaign_time ON attempt (campaign_id, claimed_at);
CREATE INDEX attempt_open ON attempt (engine) WHERE ended_at IS NULL;

CREATE TABLE disposition (
    campaign_id     bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    code            text NOT NULL,
    label           text NOT NULL,
    final           boolean NOT NULL DEFAULT false,
    follow_up_days  integer,
    retry_after_s   integer,
    PRIMARY KEY (campaign_id, code)
);

CREATE TABLE callback (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
    due_at      timestamptz NOT NULL,
    scope       text NOT NULL CHECK (scope IN ('personal', 'anyone')),
    operator_id bigint REFERENCES operator(id),
    phone       text,
    done_at     timestamptz
);

CREATE TABLE dnc (
    phone       text NOT NULL,
    scope       text NOT NULL DEFAULT 'company',
    source      text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (phone, scope)
);

CREATE TABLE engine (
    name        text PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);

CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    campaign_id bigint REFERENCES campaign(id) ON DELETE CASCADE,
    setting     text NOT NULL,
    old_value   jsonb,
    new_value   jsonb
);
