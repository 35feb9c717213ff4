-- Rollups by respondent attribute (issue 17: filters by respondent attributes at scale).
--
-- A filter by one respondent attribute ("Nữ", "Đất đai") over whole calendar months reads these
-- month totals instead of scoring the raw responses: the counts of rollup_answers_month and
-- rollup_responses_month split by the answer the respondent gave to each respondent question
-- of the form (the `choice` items of its `respondent` sections), `attribute_index` being that
-- item's answer_index and `attribute_value` the code answered. A response is counted once per
-- respondent question it answered (NULL: not counted under that question). Kept by the same
-- fold, refold and rebuild as the other rollups, in the same transaction
-- (crates/sipas-db/src/rollup.rs, sql/rollup_fold_attribute_*.sql). No foreign key to
-- responses: the rollups count responses, they do not point at them.
CREATE TABLE rollup_attribute_answers_month (
    unit_id         integer NOT NULL REFERENCES units (id),
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    channel         text NOT NULL,
    attribute_index smallint NOT NULL,
    attribute_value smallint NOT NULL,
    answer_index    smallint NOT NULL,
    value           smallint NOT NULL,
    n               integer NOT NULL CHECK (n > 0),
    -- In the order a filtered read takes them: one attribute's value over a range of months,
    -- every unit at once; with `n`, the read is an index-only scan of adjacent entries (the
    -- rows of one value are spread over the whole table, and read through the table they
    -- cost three times as much).
    PRIMARY KEY (form_version_id, attribute_index, attribute_value, month, unit_id, channel,
                 answer_index, value) INCLUDE (n)
);
-- A refold deletes a unit-month (crates/sipas-db/src/rollup.rs, `refold_unit_month`).
CREATE INDEX rollup_attribute_answers_month_unit_idx
    ON rollup_attribute_answers_month (unit_id, month);

CREATE TABLE rollup_attribute_responses_month (
    unit_id         integer NOT NULL REFERENCES units (id),
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    channel         text NOT NULL,
    attribute_index smallint NOT NULL,
    attribute_value smallint NOT NULL,
    responses       integer NOT NULL CHECK (responses > 0),
    score_n         integer NOT NULL DEFAULT 0,
    score_sum       double precision NOT NULL DEFAULT 0,
    score_sum_sq    double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (form_version_id, attribute_index, attribute_value, month, unit_id, channel)
);
CREATE INDEX rollup_attribute_responses_month_unit_idx
    ON rollup_attribute_responses_month (unit_id, month);

-- The responses already folded (id up to the watermark, not excluded as suspected fraud) are
-- folded into the new tables here, with the rules of sql/score_rules.sql and sql/score.sql as
-- they are written on this day (the fold keeps them from now on).
SET LOCAL work_mem = '256MB';

WITH attributes AS (
    SELECT form_version_id, array_agg(answer_index ORDER BY answer_index) AS positions
    FROM form_items
    WHERE kind = 'choice' AND section_role = 'respondent'
    GROUP BY form_version_id
),
picked AS MATERIALIZED (
    SELECT r.unit_id, r.form_version_id,
           date_trunc('month', r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month,
           r.channel, r.answers, k.positions
    FROM responses r
    JOIN attributes k ON k.form_version_id = r.form_version_id
    WHERE r.id <= (SELECT last_response_id FROM rollup_state)
      AND NOT EXISTS (SELECT 1 FROM response_reviews rv WHERE rv.response_id = r.id AND rv.excluded)
)
INSERT INTO rollup_attribute_answers_month
    (unit_id, form_version_id, month, channel, attribute_index, attribute_value, answer_index,
     value, n)
SELECT p.unit_id, p.form_version_id, p.month, p.channel, t.attribute_index, t.attribute_value,
       a.answer_index::int2, a.value, count(*)::int4
FROM picked p
CROSS JOIN LATERAL (
    SELECT k.position::int2 AS attribute_index, p.answers[k.position] AS attribute_value
    FROM unnest(p.positions) AS k (position)
    WHERE p.answers[k.position] IS NOT NULL
) t
CROSS JOIN LATERAL unnest(p.answers) WITH ORDINALITY AS a (value, answer_index)
WHERE a.value IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

WITH score_items AS (
    SELECT fv.id AS form_version_id, g.answer_index, rr.weight,
           coalesce(rr.positive, '{}') AS positive
    FROM form_versions fv
    CROSS JOIN LATERAL generate_series(
        1, (SELECT coalesce(max(fi.answer_index), 0) FROM form_items fi
            WHERE fi.form_version_id = fv.id)) AS g (answer_index)
    LEFT JOIN rollup_rules rr
           ON rr.form_version_id = fv.id AND rr.answer_index = g.answer_index
),
score_widths AS (
    SELECT form_version_id, greatest(max(cardinality(positive)), 1) AS width
    FROM score_items
    GROUP BY form_version_id
),
score_rules AS MATERIALIZED (
    SELECT i.form_version_id,
           array_agg(i.weight ORDER BY i.answer_index) AS weights,
           array_agg(i.positive || array_fill(0::smallint, ARRAY[w.width - cardinality(i.positive)])
                     ORDER BY i.answer_index) AS positives
    FROM score_items i
    JOIN score_widths w USING (form_version_id)
    GROUP BY i.form_version_id
),
attributes AS (
    SELECT form_version_id, array_agg(answer_index ORDER BY answer_index) AS positions
    FROM form_items
    WHERE kind = 'choice' AND section_role = 'respondent'
    GROUP BY form_version_id
),
scored AS MATERIALIZED (
    SELECT r.unit_id, r.form_version_id,
           date_trunc('month', r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month,
           r.channel, r.answers, k.positions,
           (SELECT coalesce(sum(v.weights[a.i]) FILTER (
                                WHERE a.value = ANY (v.positives[a.i:a.i])), 0)
                   / sum(v.weights[a.i])
            FROM unnest(r.answers) WITH ORDINALITY AS a (value, i)
            WHERE a.value > 0 AND v.weights[a.i] IS NOT NULL) AS score
    FROM responses r
    JOIN attributes k ON k.form_version_id = r.form_version_id
    LEFT JOIN score_rules v ON v.form_version_id = r.form_version_id
    WHERE r.id <= (SELECT last_response_id FROM rollup_state)
      AND NOT EXISTS (SELECT 1 FROM response_reviews rv WHERE rv.response_id = r.id AND rv.excluded)
)
INSERT INTO rollup_attribute_responses_month
    (unit_id, form_version_id, month, channel, attribute_index, attribute_value, responses,
     score_n, score_sum, score_sum_sq)
SELECT s.unit_id, s.form_version_id, s.month, s.channel, k.position::int2,
       s.answers[k.position], count(*)::int4, count(s.score)::int4,
       coalesce(sum(s.score), 0), coalesce(sum(s.score * s.score), 0)
FROM scored s
CROSS JOIN LATERAL unnest(s.positions) AS k (position)
WHERE s.answers[k.position] IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;
