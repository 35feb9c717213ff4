-- Responses partitioned by year (issue 18; docs/deployment.md section 3).
--
-- `responses` becomes `PARTITION BY RANGE (submitted_at)`: one partition per calendar year in
-- Vietnam's time (responses_y2026 holds [2026-01-01 00:00+07, 2027-01-01 00:00+07)), plus
-- responses_default, so that a response dated in a year without its partition (a paper ballot
-- from long ago, a clock far off) is stored, never refused. The service creates the coming
-- year's partition ahead (at start-up, hourly, and in `sipas migrate`) through
-- responses_ensure_year(), which also moves into it the rows of that year already sitting in
-- the default partition.
--
-- PostgreSQL puts the partition key into every unique constraint of a partitioned table: the
-- primary key becomes (id, submitted_at), and "a submission key is stored once" and "a unit
-- enters a paper serial once" can no longer be unique indexes of responses. They are kept by
-- response_keys, one row per response, written by a trigger in the same statement as the
-- response (whatever inserts it: the service, a spool replay, the demo, a test, an operator):
--
-- * a response whose submission key is already registered is skipped, exactly as the former
--   `INSERT ... ON CONFLICT (submission_key) DO NOTHING` did, across every year (a concurrent
--   insert of the same key waits for the first transaction, then is skipped);
-- * a paper serial a unit already has is refused with a unique violation of
--   response_keys_paper_serial_idx;
-- * ids stay unique (response_keys' primary key; they come from one identity sequence, which
--   continues where the plain table's stopped, so the fold's id ranges keep working);
-- * the tables that pointed at responses (id) (comments, flags, reviews, alert events) point
--   at response_keys (response_id) with the same ON DELETE behaviour: deleting responses
--   deletes their registry rows (statement trigger), which cascades to comments and alert
--   events and is refused while flags or reviews exist, as before;
-- * the registry follows its response by triggers, not by a foreign key to responses
--   (id, submitted_at): PostgreSQL's check of such a key locks the referenced row in its
--   partition, which made every insert about two and a half times as slow (measured: 100,000 rows
--   with the key 19 s, without 7.7 s, the plain table 3.4 s; a reason given in
--   docs/deployment.md). An UPDATE of a response (also one that moves it to another year's
--   partition) updates its row first; a DELETE through responses deletes it. Only a DELETE,
--   TRUNCATE or DETACH that names a partition bypasses this (docs/deployment.md section 3
--   says how to take a year out).
--
-- The rows are copied into the partitions (not attached as one partition of the past years):
-- one partition per year is what lets an operator archive or detach a year; at about a
-- million responses a year the copy takes well under a minute per million rows.

CREATE TABLE responses_partitioned (
    id              bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME responses_id_seq_new),
    submission_key  uuid NOT NULL,
    unit_id         integer NOT NULL,
    desk_id         integer,
    desk_code       text,
    form_version_id integer NOT NULL,
    channel         text NOT NULL,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    answers         smallint[] NOT NULL,
    entered_by      integer,
    entered_at      timestamptz,
    paper_serial    text,
    client_key      bytea,
    started_at      timestamptz,
    via             text,
    CONSTRAINT responses_answers_check
        CHECK (array_ndims(answers) = 1 OR cardinality(answers) = 0),
    CONSTRAINT responses_channel_check
        CHECK (channel = ANY (ARRAY['qr', 'kiosk', 'web', 'paper', 'interview', 'post', 'phone'])),
    CONSTRAINT responses_client_key_check CHECK (length(client_key) = 32),
    CONSTRAINT responses_paper_is_complete CHECK (
        channel <> 'paper'
        OR (paper_serial IS NOT NULL AND entered_by IS NOT NULL AND entered_at IS NOT NULL)),
    CONSTRAINT responses_paper_serial_check
        CHECK (length(btrim(paper_serial)) >= 1 AND length(btrim(paper_serial)) <= 64),
    CONSTRAINT responses_via_check CHECK (via = ANY (ARRAY['desk', 'code', 'kiosk']))
) PARTITION BY RANGE (submitted_at);

-- The identity continues: the next id is the one the plain table would have given.
SELECT setval('responses_id_seq_new', s.last_value, s.is_called) FROM responses_id_seq s;

CREATE TABLE responses_default PARTITION OF responses_partitioned DEFAULT;

-- The years the data covers, and this year and the next (in Vietnam's time).
DO $$
DECLARE
    y integer;
BEGIN
    FOR y IN
        SELECT DISTINCT extract(year FROM submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::integer
        FROM responses
        UNION
        SELECT extract(year FROM now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::integer + k
        FROM generate_series(0, 1) AS k
        ORDER BY 1
    LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF responses_partitioned FOR VALUES FROM (%L) TO (%L)',
            'responses_y' || y,
            format('%s-01-01 00:00+07', lpad(y::text, 4, '0')),
            format('%s-01-01 00:00+07', lpad((y + 1)::text, 4, '0')));
    END LOOP;
END
$$;

INSERT INTO responses_partitioned (
    id, submission_key, unit_id, desk_id, desk_code, form_version_id, channel, submitted_at,
    answers, entered_by, entered_at, paper_serial, client_key, started_at, via)
OVERRIDING SYSTEM VALUE
SELECT id, submission_key, unit_id, desk_id, desk_code, form_version_id, channel, submitted_at,
       answers, entered_by, entered_at, paper_serial, client_key, started_at, via
FROM responses;

CREATE TABLE response_keys (
    response_id    bigint PRIMARY KEY,
    submission_key uuid NOT NULL UNIQUE,
    submitted_at   timestamptz NOT NULL,
    unit_id        integer NOT NULL,
    form_version_id integer NOT NULL,
    paper_serial   text
);
INSERT INTO response_keys (response_id, submission_key, submitted_at, unit_id, form_version_id,
                           paper_serial)
SELECT id, submission_key, submitted_at, unit_id, form_version_id, paper_serial FROM responses;
CREATE UNIQUE INDEX response_keys_paper_serial_idx ON response_keys (unit_id, paper_serial)
    WHERE paper_serial IS NOT NULL;

-- The tables that pointed at the plain table point at the registry, same ON DELETE.
ALTER TABLE response_texts DROP CONSTRAINT response_texts_response_id_fkey;
ALTER TABLE response_flags DROP CONSTRAINT response_flags_response_id_fkey;
ALTER TABLE response_reviews DROP CONSTRAINT response_reviews_response_id_fkey;
ALTER TABLE alert_events DROP CONSTRAINT alert_events_response_id_fkey;

DROP TRIGGER responses_pass_context ON responses;
DROP FUNCTION responses_pass_context();
DROP TABLE responses;
ALTER TABLE responses_partitioned RENAME TO responses;
ALTER SEQUENCE responses_id_seq_new RENAME TO responses_id_seq;

ALTER TABLE responses
    ADD CONSTRAINT responses_pkey PRIMARY KEY (id, submitted_at),
    ADD CONSTRAINT responses_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT responses_desk_id_fkey FOREIGN KEY (desk_id) REFERENCES desks (id),
    ADD CONSTRAINT responses_form_version_id_fkey
        FOREIGN KEY (form_version_id) REFERENCES form_versions (id),
    ADD CONSTRAINT responses_entered_by_fkey FOREIGN KEY (entered_by) REFERENCES accounts (id);
CREATE INDEX responses_unit_time_idx ON responses (unit_id, submitted_at);
CREATE INDEX responses_desk_time_idx ON responses (desk_id, submitted_at);
CREATE INDEX responses_form_version_idx ON responses (form_version_id, submitted_at);
CREATE INDEX responses_client_idx ON responses (client_key, submitted_at)
    WHERE client_key IS NOT NULL;
CREATE INDEX responses_unit_id_idx ON responses (unit_id, id);

ALTER TABLE response_texts ADD CONSTRAINT response_texts_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES response_keys (response_id) ON DELETE CASCADE;
ALTER TABLE response_flags ADD CONSTRAINT response_flags_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES response_keys (response_id);
ALTER TABLE response_reviews ADD CONSTRAINT response_reviews_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES response_keys (response_id);
ALTER TABLE alert_events ADD CONSTRAINT alert_events_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES response_keys (response_id) ON DELETE CASCADE;

-- A new response registers itself; a second one with a registered key is skipped (the row is
-- not stored, RETURNING gives nothing), unless it is the same response moving to another
-- partition (an UPDATE of submitted_at across years runs as a delete and an insert).
CREATE FUNCTION responses_register() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO response_keys (response_id, submission_key, submitted_at, unit_id,
                               form_version_id, paper_serial)
    VALUES (NEW.id, NEW.submission_key, NEW.submitted_at, NEW.unit_id, NEW.form_version_id,
            NEW.paper_serial)
    ON CONFLICT (submission_key) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    PERFORM 1 FROM response_keys k
    WHERE k.submission_key = NEW.submission_key AND k.response_id = NEW.id;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER responses_register BEFORE INSERT ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_register();

-- A response that changes key, time, unit, form version or serial passes it on to its
-- registry row (whose unique indexes then check it) and its time, unit and form version to its
-- comments (response_texts' copies, migration 22, now taken from the registry). BEFORE, so that
-- it also runs when the change moves the row to another partition (AFTER UPDATE row triggers
-- do not run then).
CREATE FUNCTION responses_pass_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.submission_key, OLD.submitted_at, OLD.unit_id, OLD.form_version_id,
        OLD.paper_serial)
       IS DISTINCT FROM (NEW.submission_key, NEW.submitted_at, NEW.unit_id,
                         NEW.form_version_id, NEW.paper_serial)
    THEN
        UPDATE response_keys k
        SET submission_key = NEW.submission_key, submitted_at = NEW.submitted_at,
            unit_id = NEW.unit_id, form_version_id = NEW.form_version_id,
            paper_serial = NEW.paper_serial
        WHERE k.response_id = OLD.id;
    END IF;
    IF (OLD.unit_id, OLD.submitted_at, OLD.form_version_id)
       IS DISTINCT FROM (NEW.unit_id, NEW.submitted_at, NEW.form_version_id)
    THEN
        UPDATE response_texts t
        SET unit_id = NEW.unit_id, submitted_at = NEW.submitted_at,
            form_version_id = NEW.form_version_id
        WHERE t.response_id = OLD.id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER responses_pass_on
    BEFORE UPDATE OF submission_key, submitted_at, unit_id, paper_serial, form_version_id
    ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_pass_on();

-- A comment takes its response's unit, time and form version from the registry (one row by
-- its primary key, whatever the partition; already the new values while responses_pass_on
-- runs, before the response's row itself changes).
CREATE OR REPLACE FUNCTION response_texts_take_context() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT k.unit_id, k.submitted_at, k.form_version_id
    INTO NEW.unit_id, NEW.submitted_at, NEW.form_version_id
    FROM response_keys k
    WHERE k.response_id = NEW.response_id;
    RETURN NEW;
END
$$;

-- Deleted responses take their registry rows with them (and so their comments and alert
-- events; flags and reviews refuse, as their foreign keys to responses did). A statement
-- trigger on the partitioned table: a DELETE that names a partition directly does not run it
-- (what responses_ensure_year relies on to move rows out of the default partition).
CREATE FUNCTION responses_unregister() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM response_keys k USING gone g WHERE k.response_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER responses_unregister AFTER DELETE ON responses
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION responses_unregister();

-- The partition of year y (Vietnam's calendar year), created unless it exists; the rows of
-- that year already in responses_default are moved into it in the same transaction. Returns
-- the number of rows moved, NULL when the partition already existed. Safe with several
-- instances: serialised by a transaction-level advisory lock.
CREATE FUNCTION responses_ensure_year(y integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    part text := 'responses_y' || y;
    lo   text := format('%s-01-01 00:00+07', lpad(y::text, 4, '0'));
    hi   text := format('%s-01-01 00:00+07', lpad((y + 1)::text, 4, '0'));
    moved bigint;
BEGIN
    IF y < 1000 OR y > 9998 THEN
        RAISE EXCEPTION 'no partition for year %', y;
    END IF;
    PERFORM pg_advisory_xact_lock(727275, y);
    -- Creating or attaching a partition locks responses for an instant, but waits for every
    -- query reading it (a long export): rather give up and try again at the next hourly check
    -- than stall every submission queued behind that lock.
    PERFORM set_config('lock_timeout', '5s', true);
    IF EXISTS (SELECT 1 FROM pg_inherits i
               WHERE i.inhparent = 'responses'::regclass
                 AND i.inhrelid = to_regclass(quote_ident(part))) THEN
        RETURN NULL;
    END IF;
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RAISE EXCEPTION 'table % exists but is not a partition of responses', part;
    END IF;
    -- New rows of that year wait until the partition is attached.
    LOCK TABLE responses_default IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM responses_default
                   WHERE submitted_at >= lo::timestamptz AND submitted_at < hi::timestamptz) THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF responses FOR VALUES FROM (%L) TO (%L)',
                       part, lo, hi);
        RETURN 0;
    END IF;
    -- The rows leave the default partition (its DELETE does not run responses' statement
    -- trigger: their registry rows, comments and flags stay) and the table is attached once
    -- they are in it, within this transaction: no one sees them gone.
    EXECUTE format('CREATE TABLE %I (LIKE responses INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part);
    EXECUTE format(
        'WITH gone AS (DELETE FROM responses_default WHERE submitted_at >= $1 '
        'AND submitted_at < $2 RETURNING *) INSERT INTO %I SELECT * FROM gone', part)
        USING lo::timestamptz, hi::timestamptz;
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (submitted_at >= %L AND submitted_at < %L)',
                   part, part || '_bounds', lo, hi);
    EXECUTE format('ALTER TABLE responses ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, lo, hi);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_bounds');
    RETURN moved;
END
$$;
