-- The answers' month totals over every channel: rollup_answers_month summed over `channel`.
-- An overview without a channel filter (nearly every one) reads these rows instead: half as
-- many with two channels (QR code and paper), a third with three. Issue 19: a province's
-- overview of a year at 1,000,000 responses read 386,000 month rows per query, twice (the
-- report by unit and the trend per month), and took about 300 ms; a read costs in proportion
-- to its rows. Kept by the same fold, refold and rebuild as the other rollups, in the same
-- transaction (crates/sipas-db/src/rollup.rs, sql/rollup_fold_answers.sql); like them, it
-- counts responses and has no foreign key (migration 000070).
CREATE TABLE rollup_answers_month_total (
    unit_id         integer NOT NULL,
    form_version_id integer NOT NULL,
    -- The first day of the month (Vietnam's time).
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    answer_index    smallint NOT NULL,
    value           smallint NOT NULL,
    n               integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (unit_id, form_version_id, month, answer_index, value)
);
CREATE INDEX rollup_answers_month_total_month_idx ON rollup_answers_month_total (month);

INSERT INTO rollup_answers_month_total (unit_id, form_version_id, month, answer_index, value, n)
SELECT unit_id, form_version_id, month, answer_index, value, sum(n)::int4
FROM rollup_answers_month
GROUP BY unit_id, form_version_id, month, answer_index, value;
