-- Answers per unit (and per period when $8 names one), item code and value, from the rollups.
-- $1 form id; $2..$3 the days (inclusive, Vietnam's time); $4..$5 the whole months inside them
-- ([$4, $5), first days of months; $4 = $5 when none): those months are read from the month
-- totals, the other days from the day rollups. $6 unit ids (NULL: all), $7 channel (NULL:
-- all), $8 'month', 'quarter' or 'year' (NULL: one row per unit for the whole range), $9 a
-- unit id under which every unit is added up (NULL: one row per unit; a trend of units taken
-- together groups and returns a fraction of the rows: issue 17).
-- Answers of several versions of the form add up by item code (indices may differ).
WITH versions AS (
    SELECT id FROM form_versions WHERE form_id = $1
),
-- The versions as an array (a filter of the scan) rather than a semi-join, and the day rollups
-- left out when the days are whole months (`months_only` in crates/sipas-db/src/stats.rs cuts
-- from "days:begin" to "days:end"): both cost more than the reading itself on a province's
-- month rows (issue 19: 386,000 rows at 120 units, 250 → 150 ms).
-- Without a channel filter the months come from the totals over every channel (half the rows
-- with two channels: migration 000080). The branch whose condition on $7 is false is never
-- read: planned for the parameters, it is pruned; in a generic plan, its condition on $7
-- alone would be a one-time filter.
source AS (
    SELECT m.unit_id, m.form_version_id, m.month AS day, m.answer_index, m.value, m.n
    FROM rollup_answers_month_total m
    WHERE $7::text IS NULL
      AND m.form_version_id = ANY (ARRAY(SELECT id FROM versions))
      AND m.month >= $4 AND m.month < $5
      AND ($6::int4[] IS NULL OR m.unit_id = ANY ($6))
    UNION ALL
    SELECT m.unit_id, m.form_version_id, m.month AS day, m.answer_index, m.value, m.n
    FROM rollup_answers_month m
    WHERE m.channel = $7
      AND m.form_version_id = ANY (ARRAY(SELECT id FROM versions))
      AND m.month >= $4 AND m.month < $5
      AND ($6::int4[] IS NULL OR m.unit_id = ANY ($6))
    -- days:begin
    UNION ALL
    SELECT d.unit_id, d.form_version_id, d.day, d.answer_index, d.value, d.n
    FROM rollup_answers d
    WHERE d.form_version_id = ANY (ARRAY(SELECT id FROM versions))
      AND ((d.day >= $2 AND d.day < $4) OR (d.day >= $5 AND d.day <= $3))
      AND ($6::int4[] IS NULL OR d.unit_id = ANY ($6))
      AND ($7::text IS NULL OR d.channel = $7)
    -- days:end
),
grouped AS (
    SELECT CASE WHEN $8::text IS NOT NULL THEN date_trunc($8, s.day::timestamp)::date END AS period,
           coalesce($9::int4, s.unit_id) AS unit_id, s.form_version_id, s.answer_index, s.value,
           sum(s.n) AS n
    FROM source s
    GROUP BY 1, 2, 3, 4, 5
)
SELECT g.period, g.unit_id, fi.code AS item_code, g.value, sum(g.n)::int8 AS n
FROM grouped g
JOIN form_items fi ON fi.form_version_id = g.form_version_id AND fi.answer_index = g.answer_index
GROUP BY g.period, g.unit_id, fi.code, g.value
ORDER BY g.period, g.unit_id, fi.code, g.value
