-- Back to the plain responses table of migration 22 (every row kept, the ids' sequence
-- continuing), its unique constraints, and the foreign keys to responses (id).
DROP FUNCTION responses_ensure_year(integer);
DROP TRIGGER responses_unregister ON responses;
DROP FUNCTION responses_unregister();
DROP TRIGGER responses_pass_on ON responses;
DROP FUNCTION responses_pass_on();
DROP TRIGGER responses_register ON responses;
DROP FUNCTION responses_register();

CREATE TABLE responses_plain (
    id              bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME responses_id_seq_plain),
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
);
SELECT setval('responses_id_seq_plain', s.last_value, s.is_called) FROM responses_id_seq s;

INSERT INTO responses_plain (
    id, submission_key, unit_id, desk_id, desk_code, form_version_id, channel, submitted_at,
    answers, entered_by, entered_at, paper_serial, client_key, started_at, via)
OVERRIDING SYSTEM VALUE
SELECT id, submission_key, unit_id, desk_id, desk_code, form_version_id, channel, submitted_at,
       answers, entered_by, entered_at, paper_serial, client_key, started_at, via
FROM responses;

ALTER TABLE response_texts DROP CONSTRAINT response_texts_response_id_fkey;
ALTER TABLE response_flags DROP CONSTRAINT response_flags_response_id_fkey;
ALTER TABLE response_reviews DROP CONSTRAINT response_reviews_response_id_fkey;
ALTER TABLE alert_events DROP CONSTRAINT alert_events_response_id_fkey;
DROP TABLE response_keys;
DROP TABLE responses;
ALTER TABLE responses_plain RENAME TO responses;
ALTER SEQUENCE responses_id_seq_plain RENAME TO responses_id_seq;

ALTER TABLE responses
    ADD CONSTRAINT responses_pkey PRIMARY KEY (id),
    ADD CONSTRAINT responses_submission_key_key UNIQUE (submission_key),
    ADD CONSTRAINT responses_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT responses_desk_id_fkey FOREIGN KEY (desk_id) REFERENCES desks (id),
    ADD CONSTRAINT responses_form_version_id_fkey
        FOREIGN KEY (form_version_id) REFERENCES form_versions (id),
    ADD CONSTRAINT responses_entered_by_fkey FOREIGN KEY (entered_by) REFERENCES accounts (id);
CREATE INDEX responses_unit_time_idx ON responses (unit_id, submitted_at);
CREATE INDEX responses_desk_time_idx ON responses (desk_id, submitted_at);
CREATE INDEX responses_form_version_idx ON responses (form_version_id, submitted_at);
CREATE UNIQUE INDEX responses_paper_serial_idx ON responses (unit_id, paper_serial)
    WHERE paper_serial IS NOT NULL;
CREATE INDEX responses_client_idx ON responses (client_key, submitted_at)
    WHERE client_key IS NOT NULL;
CREATE INDEX responses_unit_id_idx ON responses (unit_id, id);

ALTER TABLE response_texts ADD CONSTRAINT response_texts_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE;
ALTER TABLE response_flags ADD CONSTRAINT response_flags_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES responses (id);
ALTER TABLE response_reviews ADD CONSTRAINT response_reviews_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES responses (id);
ALTER TABLE alert_events ADD CONSTRAINT alert_events_response_id_fkey
    FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE;

-- Migration 22's triggers: a comment takes its response's context, a response's changes pass
-- on to its comments.
CREATE OR REPLACE FUNCTION response_texts_take_context() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT r.unit_id, r.submitted_at, r.form_version_id
    INTO NEW.unit_id, NEW.submitted_at, NEW.form_version_id
    FROM responses r
    WHERE r.id = NEW.response_id;
    RETURN NEW;
END
$$;

CREATE FUNCTION responses_pass_context() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE response_texts t
    SET unit_id = NEW.unit_id, submitted_at = NEW.submitted_at,
        form_version_id = NEW.form_version_id
    WHERE t.response_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER responses_pass_context
    AFTER UPDATE OF unit_id, submitted_at, form_version_id ON responses
    FOR EACH ROW
    WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id
          OR OLD.submitted_at IS DISTINCT FROM NEW.submitted_at
          OR OLD.form_version_id IS DISTINCT FROM NEW.form_version_id)
    EXECUTE FUNCTION responses_pass_context();
