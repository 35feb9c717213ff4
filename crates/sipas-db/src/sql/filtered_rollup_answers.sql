-- The answers of the responses whose answer to the item $7 is $8 (one respondent attribute),
-- from rollup_attribute_answers_month, per period ($6; NULL: the whole range), unit, item code
-- and value, as filtered_answers.sql gives them from the raw responses. Parameters as in
-- filtered_rollup_responses.sql, and $9 as its $10.
WITH versions AS (
    SELECT id FROM form_versions WHERE form_id = $1
),
attribute AS (
    SELECT fi.form_version_id, fi.answer_index
    FROM form_items fi
    WHERE fi.form_version_id IN (SELECT id FROM versions) AND fi.code = $7
),
grouped AS (
    SELECT CASE WHEN $6::text IS NOT NULL THEN date_trunc($6, a.month::timestamp)::date END AS period,
           coalesce($9::int4, a.unit_id) AS unit_id, a.form_version_id, a.answer_index, a.value,
           sum(a.n) AS n
    FROM rollup_attribute_answers_month a
    JOIN attribute k
      ON k.form_version_id = a.form_version_id AND k.answer_index = a.attribute_index
    WHERE a.attribute_value = $8
      AND a.month >= $2 AND a.month < $3
      AND ($4::int4[] IS NULL OR a.unit_id = ANY ($4))
      AND ($5::text IS NULL OR a.channel = $5)
    GROUP BY 1, 2, 3, 4, 5
)
SELECT g.period, g.unit_id, fi.code AS item_code, g.value, sum(g.n)::int8 AS n
FROM grouped g
JOIN form_items fi ON fi.form_version_id = g.form_version_id AND fi.answer_index = g.answer_index
GROUP BY g.period, g.unit_id, fi.code, g.value
ORDER BY g.period, g.unit_id, fi.code, g.value
