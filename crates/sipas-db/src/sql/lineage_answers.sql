-- Answers per item code and value regrouped "by lineage": parameters as in
-- lineage_responses.sql. Weighted counts are rounded to whole answers.
WITH versions AS (
    SELECT id FROM form_versions WHERE form_id = $1
),
w AS (
    SELECT * FROM unnest($6::int4[], $7::float8[], $8::date[], $9::date[], $12::int4[])
        AS w(unit_id, weight, starts, ends, target)
),
source AS (
    SELECT m.unit_id, m.form_version_id, m.month AS day, m.answer_index, m.value, m.n
    FROM rollup_answers_month m
    WHERE m.form_version_id IN (SELECT id FROM versions)
      AND m.month >= $4 AND m.month < $5
      AND m.unit_id = ANY ($6)
      AND ($10::text IS NULL OR m.channel = $10)
    UNION ALL
    SELECT d.unit_id, d.form_version_id, d.day, d.answer_index, d.value, d.n
    FROM rollup_answers d
    WHERE d.form_version_id IN (SELECT id FROM versions)
      AND ((d.day >= $2 AND d.day < $4) OR (d.day >= $5 AND d.day <= $3))
      AND d.unit_id = ANY ($6)
      AND ($10::text IS NULL OR d.channel = $10)
),
grouped AS (
    SELECT CASE WHEN $11::text IS NOT NULL THEN date_trunc($11, s.day::timestamp)::date END AS period,
           w.target, s.form_version_id, s.answer_index, s.value, sum(s.n * w.weight) AS n
    FROM source s
    JOIN w ON w.unit_id = s.unit_id AND s.day >= w.starts AND s.day < w.ends
    GROUP BY 1, 2, 3, 4, 5
)
SELECT g.period, g.target, fi.code AS item_code, g.value, round(sum(g.n))::int8 AS n
FROM grouped g
JOIN form_items fi ON fi.form_version_id = g.form_version_id AND fi.answer_index = g.answer_index
GROUP BY g.period, g.target, fi.code, g.value
HAVING round(sum(g.n)) > 0
ORDER BY g.period, g.target, fi.code, g.value
