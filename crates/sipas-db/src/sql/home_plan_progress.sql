-- Progress of every period of plan $1, from the rollups (the responses counted in the
-- figures): for each unit of the plan's table (as in plans_progress.sql: a response counts for
-- its own unit when that unit is in the table, else for the nearest unit above it that is) and
-- each period, the unit's target and the responses to the plan's form received in the period.
-- Only the units $2 (NULL: all) are returned.
WITH RECURSIVE plan AS (
    SELECT p.id, p.unit_id, p.form_id FROM survey_plans p WHERE p.id = $1
), subtree AS (
    SELECT u.id, ARRAY[u.id] AS path FROM units u JOIN plan ON u.id = plan.unit_id
    UNION ALL
    SELECT u.id, subtree.path || u.id FROM units u JOIN subtree ON u.parent_id = subtree.id
    WHERE cardinality(subtree.path) < 32
), plan_rows AS (
    SELECT subtree.id, subtree.path FROM subtree
    WHERE EXISTS (SELECT 1 FROM desks d WHERE d.unit_id = subtree.id)
       OR EXISTS (SELECT 1 FROM plan_targets t JOIN plan_periods pp ON pp.id = t.period_id
                  WHERE pp.plan_id = $1 AND t.unit_id = subtree.id)
), owner AS (
    SELECT plan_rows.id AS unit_id, plan_rows.id AS row_id, 0 AS depth FROM plan_rows
    UNION ALL
    SELECT u.id, owner.row_id, owner.depth + 1
    FROM units u JOIN owner ON u.parent_id = owner.unit_id
    WHERE u.id NOT IN (SELECT id FROM plan_rows) AND owner.depth < 32
), received AS (
    SELECT pp.id AS period_id, owner.row_id, sum(rr.responses)::int8 AS received
    FROM plan
    JOIN plan_periods pp ON pp.plan_id = plan.id
    JOIN rollup_responses rr ON rr.day >= pp.starts_on AND rr.day <= pp.ends_on
    JOIN form_versions fv ON fv.id = rr.form_version_id AND fv.form_id = plan.form_id
    JOIN owner ON owner.unit_id = rr.unit_id
    GROUP BY pp.id, owner.row_id
)
SELECT pp.id AS period_id, u.id AS unit_id, u.name, t.target,
       COALESCE(received.received, 0) AS received
FROM plan_periods pp
CROSS JOIN plan_rows
JOIN units u ON u.id = plan_rows.id
LEFT JOIN plan_targets t ON t.period_id = pp.id AND t.unit_id = u.id
LEFT JOIN received ON received.period_id = pp.id AND received.row_id = u.id
WHERE pp.plan_id = $1 AND ($2::int4[] IS NULL OR u.id = ANY ($2))
ORDER BY pp.starts_on, plan_rows.path
