-- Folds the answers of the responses with $1 < id <= $2 into rollup_answers (per unit, form
-- version, day in Vietnam's time, channel, answer_index and value) and into its month totals
-- rollup_answers_month. A NULL element (unanswered) is not counted; 0 ("not applicable") is
-- counted as value 0.
--
-- The answers are expanded by set-returning functions in the select list (unnest and
-- generate_series run in step, giving each element with its 1-based position): much cheaper
-- than a lateral join per response.
WITH delta AS MATERIALIZED (
    SELECT e.unit_id, e.form_version_id, e.day, e.channel, e.answer_index, e.value,
           count(*)::int4 AS n
    FROM (
        SELECT unit_id, form_version_id,
               (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
               channel,
               unnest(answers) AS value,
               generate_series(1, cardinality(answers))::int2 AS answer_index
        FROM responses
        WHERE id > $1 AND id <= $2
    ) e
    WHERE e.value IS NOT NULL
    GROUP BY e.unit_id, e.form_version_id, e.day, e.channel, e.answer_index, e.value
),
days AS (
    INSERT INTO rollup_answers AS ra
        (unit_id, form_version_id, day, channel, answer_index, value, n)
    SELECT unit_id, form_version_id, day, channel, answer_index, value, n
    FROM delta
    ON CONFLICT (unit_id, form_version_id, day, channel, answer_index, value)
    DO UPDATE SET n = ra.n + EXCLUDED.n
)
INSERT INTO rollup_answers_month AS ram
    (unit_id, form_version_id, month, channel, answer_index, value, n)
SELECT unit_id, form_version_id, date_trunc('month', day)::date, channel, answer_index, value,
       sum(n)::int4
FROM delta
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (unit_id, form_version_id, month, channel, answer_index, value)
DO UPDATE SET n = ram.n + EXCLUDED.n
