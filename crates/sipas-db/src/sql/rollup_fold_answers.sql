-- Folds the answers of the responses `{source}` selects (crates/sipas-db/src/rollup.rs: ids in ($1, $2],
-- or one unit-month of them; never an excluded response, see crates/sipas-db/src/flags.rs) into
-- rollup_answers (per unit, form version, day in Vietnam's time, channel, answer_index and
-- value), into its month totals rollup_answers_month and into the month totals over every
-- channel rollup_answers_month_total. A NULL element (unanswered) is not counted;
-- 0 ("not applicable") is counted as value 0.
WITH delta AS MATERIALIZED (
    SELECT r.unit_id, r.form_version_id, r.day, r.channel, a.answer_index::int2 AS answer_index,
           a.value, count(*)::int4 AS n
    FROM (
        -- OFFSET 0: the day is computed once per response, not once per answer.
        SELECT unit_id, form_version_id,
               (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
               channel, answers
        FROM responses r
        WHERE {source}
        OFFSET 0
    ) r
    CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS a (value, answer_index)
    WHERE a.value IS NOT NULL
    GROUP BY r.unit_id, r.form_version_id, r.day, r.channel, a.answer_index, a.value
),
days AS (
    INSERT INTO rollup_answers AS ra
        (unit_id, form_version_id, day, channel, answer_index, value, n)
    SELECT unit_id, form_version_id, day, channel, answer_index, value, n
    FROM delta
    ON CONFLICT (unit_id, form_version_id, day, channel, answer_index, value)
    DO UPDATE SET n = ra.n + EXCLUDED.n
),
months AS MATERIALIZED (
    SELECT unit_id, form_version_id, date_trunc('month', day)::date AS month, channel,
           answer_index, value, sum(n)::int4 AS n
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6
),
channels AS (
    INSERT INTO rollup_answers_month AS ram
        (unit_id, form_version_id, month, channel, answer_index, value, n)
    SELECT unit_id, form_version_id, month, channel, answer_index, value, n
    FROM months
    ON CONFLICT (unit_id, form_version_id, month, channel, answer_index, value)
    DO UPDATE SET n = ram.n + EXCLUDED.n
)
INSERT INTO rollup_answers_month_total AS t
    (unit_id, form_version_id, month, answer_index, value, n)
SELECT unit_id, form_version_id, month, answer_index, value, sum(n)::int4
FROM months
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (unit_id, form_version_id, month, answer_index, value)
DO UPDATE SET n = t.n + EXCLUDED.n
