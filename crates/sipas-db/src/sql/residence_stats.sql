-- Responses and answers by the respondent's place of residence (issue 19): the responses to
-- the versions of form $1 submitted on Vietnam's days $2..$3 (included), served by the units
-- $4 (NULL: all) through channel $5 (NULL: all), exactly those the published figures count
-- (folded into the rollups: id up to the watermark; never an excluded one), grouped by
-- (residence_unit_id, residence_code). Per group, one row with item_code NULL holding the
-- number of responses, then one row per item code and answer value (NULL answers are not
-- counted; 0 is "not applicable").
WITH picked AS (
    SELECT r.form_version_id, r.answers, r.residence_unit_id, r.residence_code
    FROM responses r
    WHERE r.form_version_id IN (SELECT id FROM form_versions WHERE form_id = $1)
      AND r.submitted_at >= $2::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND r.submitted_at < ($3 + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND ($4::int4[] IS NULL OR r.unit_id = ANY ($4))
      AND ($5::text IS NULL OR r.channel = $5)
      AND r.id <= (SELECT last_response_id FROM rollup_state)
      AND NOT {excluded}
),
-- The answers counted per form version and answer position first, then named: joining the
-- items before grouping made the planner pair every answer with every item of the form.
grouped AS (
    SELECT p.residence_unit_id, p.residence_code, p.form_version_id, a.i AS answer_index,
           a.value, count(*) AS n
    FROM picked p
    CROSS JOIN LATERAL unnest(p.answers) WITH ORDINALITY AS a (value, i)
    WHERE a.value IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
)
SELECT p.residence_unit_id, p.residence_code, NULL::text AS item_code, NULL::int2 AS value,
       count(*)::int8 AS n
FROM picked p
GROUP BY p.residence_unit_id, p.residence_code
UNION ALL
SELECT g.residence_unit_id, g.residence_code, fi.code, g.value, sum(g.n)::int8
FROM grouped g
JOIN form_items fi ON fi.form_version_id = g.form_version_id AND fi.answer_index = g.answer_index
GROUP BY g.residence_unit_id, g.residence_code, fi.code, g.value
ORDER BY 1, 2, 3, 4
