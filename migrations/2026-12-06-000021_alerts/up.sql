-- E-mail alerts for a unit's staff (issue 17): an account subscribes to the responses of a unit
-- of its scope (and the units below it) that rate the service at the lowest level of the
-- satisfaction scale on a criterion ("Rất không hài lòng"), or that leave a comment, by
-- e-mail at once or as a daily digest. Sent by the server's alert task through
-- SIPAS_SMTP_URL (crates/sipas-app/src/alerts.rs).
CREATE TABLE alert_subscriptions (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  integer NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    unit_id     integer NOT NULL REFERENCES units (id),
    -- Where the e-mails go (accounts have no e-mail address of their own).
    email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- The events: a very dissatisfied rating, a comment; at least one.
    on_very_dissatisfied boolean NOT NULL,
    on_comment  boolean NOT NULL,
    -- 'immediate': within a minute or two; 'daily': one digest at 07:00 (Vietnam's time).
    mode        text NOT NULL CHECK (mode IN ('immediate', 'daily')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (on_very_dissatisfied OR on_comment),
    UNIQUE (account_id, unit_id, email)
);

-- The outbox: one row per subscription and response that matched it, written by the alert
-- task as responses pass the statistics' watermark (every response up to it is committed, see
-- crates/sipas-db/src/rollup.rs), and marked sent only once the SMTP server accepted the
-- e-mail: nothing is sent twice, and nothing is lost while the SMTP server is down.
CREATE TABLE alert_events (
    subscription_id integer NOT NULL REFERENCES alert_subscriptions (id) ON DELETE CASCADE,
    response_id bigint NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    very_dissatisfied boolean NOT NULL,
    comment     boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- When the e-mail holding it was accepted, or when it was dropped (the account no longer
    -- sees the unit, or is disabled).
    sent_at     timestamptz,
    dropped_at  timestamptz,
    PRIMARY KEY (subscription_id, response_id),
    CHECK (sent_at IS NULL OR dropped_at IS NULL)
);
CREATE INDEX alert_events_pending_idx ON alert_events (subscription_id, created_at)
    WHERE sent_at IS NULL AND dropped_at IS NULL;
CREATE INDEX alert_events_response_idx ON alert_events (response_id);

-- How far the alert task has looked: every response with an id up to last_response_id has its
-- events written. Starts at the statistics' watermark, so that responses stored before alerts
-- existed send nothing.
CREATE TABLE alert_state (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_response_id bigint NOT NULL,
    -- The last failure to send (the SMTP server's answer), cleared by the next success: shown
    -- on the subscription page.
    last_error       text,
    last_error_at    timestamptz
);
INSERT INTO alert_state (id, last_response_id)
SELECT true, last_response_id FROM rollup_state;
