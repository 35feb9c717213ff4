-- Responses and moments of the respondents' scores per unit (and per period when $8 names
-- one), from the rollups. Parameters as in stats_answers.sql.
WITH versions AS (
    SELECT id FROM form_versions WHERE form_id = $1
),
source AS (
    SELECT m.unit_id, m.month AS day, m.responses, m.score_n, m.score_sum, m.score_sum_sq
    FROM rollup_responses_month m
    WHERE m.form_version_id IN (SELECT id FROM versions)
      AND m.month >= $4 AND m.month < $5
      AND ($6::int4[] IS NULL OR m.unit_id = ANY ($6))
      AND ($7::text IS NULL OR m.channel = $7)
    UNION ALL
    SELECT d.unit_id, d.day, d.responses, d.score_n, d.score_sum, d.score_sum_sq
    FROM rollup_responses d
    WHERE d.form_version_id IN (SELECT id FROM versions)
      AND ((d.day >= $2 AND d.day < $4) OR (d.day >= $5 AND d.day <= $3))
      AND ($6::int4[] IS NULL OR d.unit_id = ANY ($6))
      AND ($7::text IS NULL OR d.channel = $7)
)
SELECT CASE WHEN $8::text IS NOT NULL THEN date_trunc($8, s.day::timestamp)::date END AS period,
       coalesce($9::int4, s.unit_id) AS unit_id,
       sum(s.responses)::int8 AS responses,
       sum(s.score_n)::int8 AS score_n,
       sum(s.score_sum)::float8 AS score_sum,
       sum(s.score_sum_sq)::float8 AS score_sum_sq
FROM source s
GROUP BY 1, 2
ORDER BY 1, 2
