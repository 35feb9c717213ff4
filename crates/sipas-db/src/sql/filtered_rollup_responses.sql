-- The responses of a figure filtered by ONE respondent attribute, from the rollups by attribute
-- (migration 000060): per period ($6: 'month', 'quarter' or 'year'; NULL: the whole range),
-- unit and pattern, as filtered_responses.sql gives them from the raw responses. Pattern 1: the
-- responses whose answer to the item $7 is $8, with the moments of their scores when $9 asks
-- for them (else 0); pattern 0: the unit's other responses (those of rollup_responses_month
-- less the matching ones), only where there are some.
-- $1 form id; $2..$3 whole months ([$2, $3), first days of months); $4 unit ids (NULL: all);
-- $5 channel (NULL: all); $10 a unit id under which every unit is added up (NULL: one row per
-- unit).
WITH versions AS (
    SELECT id FROM form_versions WHERE form_id = $1
),
attribute AS (
    -- The answer_index of the item in each version that has it.
    SELECT fi.form_version_id, fi.answer_index
    FROM form_items fi
    WHERE fi.form_version_id IN (SELECT id FROM versions) AND fi.code = $7
),
everyone AS (
    SELECT CASE WHEN $6::text IS NOT NULL THEN date_trunc($6, m.month::timestamp)::date END AS period,
           coalesce($10::int4, m.unit_id) AS unit_id, sum(m.responses)::int8 AS responses
    FROM rollup_responses_month m
    WHERE m.form_version_id IN (SELECT id FROM versions)
      AND m.month >= $2 AND m.month < $3
      AND ($4::int4[] IS NULL OR m.unit_id = ANY ($4))
      AND ($5::text IS NULL OR m.channel = $5)
    GROUP BY 1, 2
),
matching AS (
    SELECT CASE WHEN $6::text IS NOT NULL THEN date_trunc($6, a.month::timestamp)::date END AS period,
           coalesce($10::int4, a.unit_id) AS unit_id,
           sum(a.responses)::int8 AS responses,
           sum(a.score_n)::int8 AS score_n,
           sum(a.score_sum)::float8 AS score_sum,
           sum(a.score_sum_sq)::float8 AS score_sum_sq
    FROM rollup_attribute_responses_month a
    JOIN attribute k
      ON k.form_version_id = a.form_version_id AND k.answer_index = a.attribute_index
    WHERE a.attribute_value = $8
      AND a.month >= $2 AND a.month < $3
      AND ($4::int4[] IS NULL OR a.unit_id = ANY ($4))
      AND ($5::text IS NULL OR a.channel = $5)
    GROUP BY 1, 2
)
SELECT e.period, e.unit_id, 0 AS pattern,
       (e.responses - coalesce(m.responses, 0))::int8 AS responses,
       0::int8 AS score_n, 0::float8 AS score_sum, 0::float8 AS score_sum_sq
FROM everyone e
LEFT JOIN matching m ON m.period IS NOT DISTINCT FROM e.period AND m.unit_id = e.unit_id
WHERE e.responses > coalesce(m.responses, 0)
UNION ALL
SELECT m.period, m.unit_id, 1 AS pattern, m.responses,
       CASE WHEN $9::bool THEN m.score_n ELSE 0 END::int8,
       CASE WHEN $9::bool THEN m.score_sum ELSE 0 END::float8,
       CASE WHEN $9::bool THEN m.score_sum_sq ELSE 0 END::float8
FROM matching m
ORDER BY 1, 2, 3
