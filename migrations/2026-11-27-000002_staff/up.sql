-- Staff: accounts and roles, sign-in throttling, the annual survey plan, paper ballots and the
-- audit log.

CREATE TABLE accounts (
    id                  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,31}$'),
    display_name        text NOT NULL CHECK (length(btrim(display_name)) > 0),
    -- admin: Phòng Nội vụ, everything; unit: a unit's staff, their units and the units below;
    -- viewer: district leaders, read everything, change nothing.
    role                text NOT NULL CHECK (role IN ('admin', 'unit', 'viewer')),
    -- argon2id PHC string.
    password_hash       text NOT NULL,
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- The units a `unit` account looks after (with everything below them).
CREATE TABLE account_units (
    account_id integer NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    unit_id    integer NOT NULL REFERENCES units (id),
    PRIMARY KEY (account_id, unit_id)
);

-- Failed sign-ins, counted per user name (as typed, whether it exists or not) and per client
-- within a window; kept in the database so that the limits hold across instances. The client
-- is a keyed hash of its address: the raw address is never stored.
CREATE TABLE sign_in_failures (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username   text NOT NULL,
    client_key bytea NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_username_idx ON sign_in_failures (username, at);
CREATE INDEX sign_in_failures_client_idx ON sign_in_failures (client_key, at);

-- "Kế hoạch khảo sát sự hài lòng năm YYYY" of a unit (the district, or a province).
CREATE TABLE survey_plans (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id         integer NOT NULL REFERENCES units (id),
    year            smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    title           text NOT NULL CHECK (length(btrim(title)) > 0),
    form_id         text NOT NULL REFERENCES forms (id),
    -- e in n = N / (1 + N e^2), used when a target is computed from the expected dossiers.
    margin_of_error double precision NOT NULL DEFAULT 0.05 CHECK (margin_of_error > 0 AND margin_of_error < 0.5),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (unit_id, year)
);

-- Survey periods of a plan: quarters, half-years or custom date ranges (inclusive).
CREATE TABLE plan_periods (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id   integer NOT NULL REFERENCES survey_plans (id) ON DELETE CASCADE,
    name      text NOT NULL CHECK (length(btrim(name)) > 0),
    starts_on date NOT NULL,
    ends_on   date NOT NULL,
    CHECK (ends_on >= starts_on),
    UNIQUE (plan_id, name)
);

-- Target number of forms per unit and period; `expected_dossiers` is N when the target was
-- computed rather than typed.
CREATE TABLE plan_targets (
    period_id         integer NOT NULL REFERENCES plan_periods (id) ON DELETE CASCADE,
    unit_id           integer NOT NULL REFERENCES units (id),
    target            integer NOT NULL CHECK (target >= 0),
    expected_dossiers integer CHECK (expected_dossiers >= 0),
    PRIMARY KEY (period_id, unit_id)
);

-- Paper ballots typed in by staff: who entered them and when, and the ballot's serial number,
-- which a unit can enter only once.
ALTER TABLE responses
    ADD COLUMN entered_by   integer REFERENCES accounts (id),
    ADD COLUMN entered_at   timestamptz,
    ADD COLUMN paper_serial text CHECK (length(btrim(paper_serial)) BETWEEN 1 AND 64),
    ADD CONSTRAINT responses_paper_is_complete CHECK (
        channel <> 'paper' OR (paper_serial IS NOT NULL AND entered_by IS NOT NULL AND entered_at IS NOT NULL)
    );
CREATE UNIQUE INDEX responses_paper_serial_idx ON responses (unit_id, paper_serial)
    WHERE paper_serial IS NOT NULL;

-- Every change made by staff: who, when, what, before and after. Append-only: a trigger refuses
-- UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    account_id integer REFERENCES accounts (id),
    action     text NOT NULL,
    entity     text NOT NULL,
    entity_id  text,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
