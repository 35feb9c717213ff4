-- The core of sipas: units, desks, survey forms and citizens' responses.

-- Units form a tree (province -> district -> department / commune / town), so one installation
-- can serve a district or a whole province.
CREATE TABLE units (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id       integer REFERENCES units (id),
    code            text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9.-]{0,63}$'),
    name            text NOT NULL CHECK (length(btrim(name)) > 0),
    kind            text NOT NULL CHECK (kind IN ('province', 'district', 'department', 'commune', 'town', 'ward', 'other')),
    -- The form shown by this unit's desks (and inherited by the units below) unless a desk
    -- overrides it. NULL: inherit from the parent.
    default_form_id text,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX units_parent_idx ON units (parent_id);

-- A form id is stable; each distinct content of its file is one version, stored once.
CREATE TABLE forms (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE form_versions (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form_id        text NOT NULL REFERENCES forms (id),
    version        integer NOT NULL CHECK (version >= 1),
    -- SHA-256 of the parsed form without its version number (comments and layout of the file
    -- do not count).
    content_sha256 bytea NOT NULL CHECK (length(content_sha256) = 32),
    -- The whole validated form, so that old responses keep their meaning whatever the files say.
    definition     jsonb NOT NULL,
    source_file    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (form_id, version),
    UNIQUE (form_id, content_sha256)
);

-- The items of each version, for SQL-side statistics: `answer_index` is the position (1-based)
-- of a choice item's code in responses.answers.
CREATE TABLE form_items (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    code            text NOT NULL,
    section_code    text NOT NULL,
    section_role    text NOT NULL CHECK (section_role IN ('factor', 'expectation', 'respondent', 'other')),
    kind            text NOT NULL CHECK (kind IN ('choice', 'text')),
    position        smallint NOT NULL,
    answer_index    smallint CHECK ((kind = 'choice') = (answer_index IS NOT NULL)),
    UNIQUE (form_version_id, code),
    UNIQUE (form_version_id, answer_index)
);

ALTER TABLE units ADD FOREIGN KEY (default_form_id) REFERENCES forms (id);

-- A reception desk ("Bộ phận Tiếp nhận và Trả kết quả") of a unit.
CREATE TABLE desks (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id    integer NOT NULL REFERENCES units (id),
    name       text NOT NULL CHECK (length(btrim(name)) > 0),
    -- Overrides the form inherited from the unit tree.
    form_id    text REFERENCES forms (id),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (unit_id, name)
);
CREATE INDEX desks_unit_idx ON desks (unit_id);

-- The public codes of a desk (what its QR code points to). Rotating a code retires it: the old
-- code stops accepting responses, its responses stay and keep the code they came through.
CREATE TABLE desk_codes (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z0-9]{4,32}$'),
    desk_id    integer NOT NULL REFERENCES desks (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
CREATE UNIQUE INDEX desk_codes_one_active_idx ON desk_codes (desk_id) WHERE retired_at IS NULL;

-- One row per response. The coded answers live in one smallint[] per response rather than in a
-- narrow answers table (one row per answer):
--   * a response of the QĐ 1001 form has 34 coded answers; as rows that is 34 tuples of
--     ~40 bytes plus an index entry each (about 2 GB at one million responses), as an array it is
--     one ~100-byte value in the response row (about 150 MB at a million), so scans for
--     statistics read ten times less;
--   * a submission is one INSERT of one row (plus open answers, when given), which keeps the
--     citizen's path short and atomic;
--   * statistics aggregate in SQL with `unnest(answers) WITH ORDINALITY`, joined to form_items
--     on answer_index; grouping is by (unit, form version, period), served by the indexes below,
--     and rollup tables can be fed from the same rows.
-- Element i holds the answer to the form version's choice item with answer_index = i:
-- NULL = not answered, 0 = "not applicable" (scale codes are >= 1), otherwise the scale code.
CREATE TABLE responses (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Idempotency key rendered into the form: the same form submitted twice is stored once.
    submission_key  uuid NOT NULL UNIQUE,
    unit_id         integer NOT NULL REFERENCES units (id),
    desk_id         integer REFERENCES desks (id),
    -- The public code the response came through (codes rotate; this one is kept).
    desk_code       text,
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    channel         text NOT NULL CHECK (channel IN ('qr', 'kiosk', 'web', 'paper', 'interview', 'post', 'phone')),
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    answers         smallint[] NOT NULL CHECK (array_ndims(answers) = 1 OR cardinality(answers) = 0)
);
CREATE INDEX responses_unit_time_idx ON responses (unit_id, submitted_at);
CREATE INDEX responses_desk_time_idx ON responses (desk_id, submitted_at);
CREATE INDEX responses_form_version_idx ON responses (form_version_id, submitted_at);

-- Open answers ("Ý kiến khác", "Góp ý"): few responses have them, and later each is handled.
CREATE TABLE response_texts (
    response_id bigint NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    item_id     integer NOT NULL REFERENCES form_items (id),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    PRIMARY KEY (response_id, item_id)
);
