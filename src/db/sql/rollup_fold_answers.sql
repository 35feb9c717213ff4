-- Folds the answers of the responses with $1 < id <= $2 into rollup_answers: one count per
-- unit, form version, day (in Vietnam's time), channel, answer_index and value. A NULL
-- element (unanswered) is not counted; 0 ("not applicable") is counted as value 0.
INSERT INTO rollup_answers AS ra (unit_id, form_version_id, day, channel, answer_index, value, n)
SELECT r.unit_id, r.form_version_id, r.day, r.channel, a.answer_index::smallint, a.value,
       count(*)::int4
FROM (
    -- OFFSET 0 keeps the day computed once per response, not once per answer.
    SELECT unit_id, form_version_id, (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
           channel, answers
    FROM responses
    WHERE id > $1 AND id <= $2
    OFFSET 0
) r
CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS a (value, answer_index)
WHERE a.value IS NOT NULL
GROUP BY r.unit_id, r.form_version_id, r.day, r.channel, a.answer_index, a.value
ON CONFLICT (unit_id, form_version_id, day, channel, answer_index, value)
DO UPDATE SET n = ra.n + EXCLUDED.n
