-- Folds the answers of the responses `{source}` selects (as rollup_fold_answers.sql) into
-- rollup_attribute_answers_month: per unit, form version, month (Vietnam's time), channel,
-- respondent question (`attribute_index`, the answer_index of a `choice` item of a
-- `respondent` section) and the code answered to it, the answers per answer_index and value.
-- A response counts under each respondent question it answered (not under one left blank),
-- so a filter by one attribute reads exactly its respondents' answers (crates/sipas-db/src/
-- stats.rs, `read_filtered`).
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
    WHERE {source}
)
INSERT INTO rollup_attribute_answers_month AS x
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
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ON CONFLICT (unit_id, form_version_id, month, channel, attribute_index, attribute_value,
             answer_index, value)
DO UPDATE SET n = x.n + EXCLUDED.n
