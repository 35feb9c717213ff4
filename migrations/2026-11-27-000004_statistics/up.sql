-- Statistics: rollups of the answers, handling of comments, published results, API tokens.

-- Rollups. The dashboard aggregates these, never the responses themselves, so its cost does
-- not grow with the number of responses. They are fed incrementally from responses with an id
-- above rollup_state.last_response_id (a watermark advanced under an advisory lock, so several
-- instances can refresh safely), and can be rebuilt from scratch at any time.
-- `day` is the day of submitted_at in Vietnam's time.
CREATE TABLE rollup_answers (
    unit_id         integer NOT NULL REFERENCES units (id),
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    day             date NOT NULL,
    channel         text NOT NULL,
    -- Position in responses.answers (form_items.answer_index).
    answer_index    smallint NOT NULL,
    -- The code answered; 0 = "not applicable". Unanswered items are not counted.
    value           smallint NOT NULL,
    n               integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (unit_id, form_version_id, day, channel, answer_index, value)
);
CREATE INDEX rollup_answers_day_idx ON rollup_answers (day);

-- Per unit, form version, day and channel: responses, and the moments of the respondents'
-- own index scores (see src/stats: the interval of a unit's index is computed from them).
CREATE TABLE rollup_responses (
    unit_id         integer NOT NULL REFERENCES units (id),
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    day             date NOT NULL,
    channel         text NOT NULL,
    responses       integer NOT NULL CHECK (responses > 0),
    score_n         integer NOT NULL DEFAULT 0,
    score_sum       double precision NOT NULL DEFAULT 0,
    score_sum_sq    double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_id, form_version_id, day, channel)
);
CREATE INDEX rollup_responses_day_idx ON rollup_responses (day);

CREATE TABLE rollup_state (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_response_id bigint NOT NULL DEFAULT 0,
    refreshed_at     timestamptz
);
INSERT INTO rollup_state DEFAULT VALUES;

-- Handling of comments ("góp ý"): who marked one handled, when, with what note.
ALTER TABLE response_texts
    ADD COLUMN handled_at    timestamptz,
    ADD COLUMN handled_by    integer REFERENCES accounts (id),
    ADD COLUMN handling_note text CHECK (length(handling_note) <= 2000),
    ADD CONSTRAINT response_texts_handled_complete CHECK ((handled_at IS NULL) = (handled_by IS NULL));

-- Results an admin published ("công khai kết quả"): a snapshot of the figures at that moment,
-- so that what citizens read does not change behind them.
CREATE TABLE published_results (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id      integer NOT NULL REFERENCES survey_plans (id) ON DELETE CASCADE,
    period_id    integer NOT NULL REFERENCES plan_periods (id) ON DELETE CASCADE,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by integer NOT NULL REFERENCES accounts (id),
    figures      jsonb NOT NULL,
    UNIQUE (period_id)
);

-- API tokens act for their account (and its scope). Only a hash of the token is kept.
CREATE TABLE api_tokens (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   integer NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
