-- Progress of period $2 of plan $1: for each unit of the plan (as in plans_units.sql), the
-- responses to the plan's form received in the period, with the unit's target. A response
-- counts for its own unit when that unit is in the table, else for the nearest unit above it
-- that is (so a unit's figure covers the units below it that have no desk of their own, and no
-- response counts twice). The period runs from starts_on 00:00 to ends_on + 1 day 00:00 in
-- Vietnam's time. Only the units $3 (NULL: all) are returned.
WITH RECURSIVE period AS (
    SELECT p.id AS plan_id, p.unit_id, p.form_id,
           pp.starts_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS from_at,
           (pp.ends_on + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS until_at
    FROM survey_plans p JOIN plan_periods pp ON pp.plan_id = p.id
    WHERE p.id = $1 AND pp.id = $2
), subtree AS (
    SELECT u.id, ARRAY[u.id] AS path FROM units u JOIN period ON u.id = period.unit_id
    UNION ALL
    SELECT u.id, subtree.path || u.id FROM units u JOIN subtree ON u.parent_id = subtree.id
    WHERE cardinality(subtree.path) < 32
), plan_rows AS (
    SELECT subtree.id, subtree.path FROM subtree
    WHERE EXISTS (SELECT 1 FROM desks d WHERE d.unit_id = subtree.id)
       OR EXISTS (SELECT 1 FROM plan_targets t JOIN plan_periods pp ON pp.id = t.period_id
                  WHERE pp.plan_id = $1 AND t.unit_id = subtree.id)
), owner AS (
    -- Each unit at or below a table row, with the row it counts for.
    SELECT plan_rows.id AS unit_id, plan_rows.id AS row_id, 0 AS depth FROM plan_rows
    UNION ALL
    SELECT u.id, owner.row_id, owner.depth + 1
    FROM units u JOIN owner ON u.parent_id = owner.unit_id
    WHERE u.id NOT IN (SELECT id FROM plan_rows) AND owner.depth < 32
), received AS (
    SELECT owner.row_id, count(*) AS received
    FROM period
    JOIN responses r ON r.submitted_at >= period.from_at AND r.submitted_at < period.until_at
    JOIN form_versions fv ON fv.id = r.form_version_id AND fv.form_id = period.form_id
    JOIN owner ON owner.unit_id = r.unit_id
    GROUP BY owner.row_id
)
SELECT u.id, u.code, u.name, u.kind, u.active,
       t.target, t.expected_dossiers, COALESCE(received.received, 0) AS received
FROM plan_rows
JOIN units u ON u.id = plan_rows.id
LEFT JOIN plan_targets t ON t.period_id = $2 AND t.unit_id = u.id
LEFT JOIN received ON received.row_id = u.id
WHERE $3::int4[] IS NULL OR u.id = ANY ($3)
ORDER BY plan_rows.path
