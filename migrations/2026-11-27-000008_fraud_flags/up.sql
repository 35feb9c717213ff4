-- Fraud signals: flag, never delete. Responses that look manufactured are kept, flagged with
-- the reason, shown to admins and, when the evidence is strong, left out of the official
-- figures until an admin decides otherwise. Detection runs in the background fold of the
-- rollups (src/db/flags.rs, src/db/sql/flags_*.sql), never on the citizen's path.

-- Opening hours of a desk: a JSON array of ranges
--   [{"days": [1, 2, 3, 4, 5], "opens": "07:00", "closes": "17:00"}, ...]
-- with ISO weekdays (1 = Monday ... 7 = Sunday) and local times (Vietnam). NULL: the desk has
-- no fixed hours (no "outside opening hours" signal). The default is the usual one-stop desk
-- of a Vietnamese district or commune: Monday to Friday, 07:00 to 17:00.
ALTER TABLE desks
    ADD COLUMN opening_hours jsonb
        DEFAULT '[{"days": [1, 2, 3, 4, 5], "opens": "07:00", "closes": "17:00"}]'
        CHECK (opening_hours IS NULL OR jsonb_typeof(opening_hours) = 'array');

-- The thresholds of the signals (one row). The defaults and their rationale are documented
-- in src/db/flags.rs; an installation may tune them with SQL.
CREATE TABLE fraud_rules (
    id                        boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- Burst at a desk: at least max(desk_burst_min, desk_burst_ratio x the desk's usual
    -- number) of responses within desk_burst_minutes.
    desk_burst_minutes        integer NOT NULL DEFAULT 10 CHECK (desk_burst_minutes > 0),
    desk_burst_min            integer NOT NULL DEFAULT 10 CHECK (desk_burst_min > 1),
    desk_burst_ratio          double precision NOT NULL DEFAULT 5 CHECK (desk_burst_ratio >= 1),
    -- Burst from one client (client_key): at least client_burst_min within
    -- client_burst_minutes.
    client_burst_minutes      integer NOT NULL DEFAULT 60 CHECK (client_burst_minutes > 0),
    client_burst_min          integer NOT NULL DEFAULT 3 CHECK (client_burst_min > 1),
    -- Identical answers in a row: runs of this length at a desk, from one client; only
    -- responses with at least identical_min_items answered coded items.
    identical_run_desk        integer NOT NULL DEFAULT 3 CHECK (identical_run_desk > 1),
    identical_run_client      integer NOT NULL DEFAULT 2 CHECK (identical_run_client > 1),
    identical_min_items       integer NOT NULL DEFAULT 8 CHECK (identical_min_items > 0),
    -- Straight-lining: every answered criterion the same value, at least this many answered.
    straight_min_criteria     integer NOT NULL DEFAULT 5 CHECK (straight_min_criteria > 1),
    -- Impossible completion time: submitted_at - started_at below
    -- min_seconds_base + min_seconds_per_item x answered coded items.
    min_seconds_base          double precision NOT NULL DEFAULT 2 CHECK (min_seconds_base >= 0),
    min_seconds_per_item      double precision NOT NULL DEFAULT 0.5 CHECK (min_seconds_per_item >= 0),
    -- Outside opening hours: tolerance before opening and after closing.
    hours_grace_before_minutes integer NOT NULL DEFAULT 15 CHECK (hours_grace_before_minutes >= 0),
    hours_grace_after_minutes integer NOT NULL DEFAULT 60 CHECK (hours_grace_after_minutes >= 0)
);
INSERT INTO fraud_rules DEFAULT VALUES;

-- One row per signal raised on a response (a response has each reason at most once).
CREATE TABLE response_flags (
    response_id bigint NOT NULL REFERENCES responses (id),
    reason      text NOT NULL CHECK (reason IN ('burst_client', 'burst_desk', 'identical_run',
                                                'straight_line', 'too_fast', 'outside_hours')),
    -- weak: shown, the response still counts; strong: left out of the figures by default.
    severity    text NOT NULL CHECK (severity IN ('weak', 'strong')),
    -- The numbers behind the signal (counts, thresholds, seconds), shown to admins.
    detail      jsonb NOT NULL DEFAULT '{}',
    detected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (response_id, reason)
);
CREATE INDEX response_flags_detected_idx ON response_flags (detected_at);
CREATE INDEX response_flags_reason_idx ON response_flags (reason);

-- The state of each flagged response: counted or excluded by default (from its flags), and the
-- admin's decision when there is one (which wins). A response without a row here counts.
CREATE TABLE response_reviews (
    response_id         bigint PRIMARY KEY REFERENCES responses (id),
    excluded_by_default boolean NOT NULL,
    decision            text CHECK (decision IN ('include', 'exclude')),
    decided_by          integer REFERENCES accounts (id),
    decided_at          timestamptz,
    note                text CHECK (length(note) <= 2000),
    excluded            boolean NOT NULL GENERATED ALWAYS AS
                            (coalesce(decision = 'exclude', excluded_by_default)) STORED,
    CHECK ((decision IS NULL) = (decided_at IS NULL))
);
CREATE INDEX response_reviews_excluded_idx ON response_reviews (response_id) WHERE excluded;
