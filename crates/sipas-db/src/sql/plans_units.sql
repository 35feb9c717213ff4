-- The units of plan $1 that get a target, in unit-tree order: the plan's unit and every unit
-- below it that has a reception desk (where citizens answer), plus any unit that already has a
-- target in the plan. Only the units $2 (NULL: all) are returned.
WITH RECURSIVE plan AS (
    SELECT p.id, p.unit_id FROM survey_plans p WHERE p.id = $1
), subtree AS (
    SELECT u.id, ARRAY[u.id] AS path FROM units u JOIN plan ON u.id = plan.unit_id
    UNION ALL
    SELECT u.id, subtree.path || u.id FROM units u JOIN subtree ON u.parent_id = subtree.id
    WHERE cardinality(subtree.path) < 32
)
SELECT u.id, u.code, u.name, u.kind, u.active
FROM subtree
JOIN units u ON u.id = subtree.id
WHERE (EXISTS (SELECT 1 FROM desks d WHERE d.unit_id = u.id)
       OR EXISTS (SELECT 1 FROM plan_targets t JOIN plan_periods pp ON pp.id = t.period_id
                  WHERE pp.plan_id = $1 AND t.unit_id = u.id))
  AND ($2::int4[] IS NULL OR u.id = ANY ($2))
ORDER BY subtree.path
