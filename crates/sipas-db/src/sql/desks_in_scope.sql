-- Desks of the units $1 (NULL: all), or only the desk $2 (NULL: every desk), in unit-tree
-- order, with their unit, its parent's name, the form the unit passes down (its own default,
-- else the nearest one up the tree), the current public code, the number of responses and
-- the opening hours.
WITH RECURSIVE tree AS (
    SELECT u.id, ARRAY[u.id] AS path, u.default_form_id AS effective_form_id
    FROM units u
    WHERE u.parent_id IS NULL
    UNION ALL
    SELECT u.id, tree.path || u.id, COALESCE(u.default_form_id, tree.effective_form_id)
    FROM units u
    JOIN tree ON u.parent_id = tree.id
    WHERE cardinality(tree.path) < 32
)
SELECT d.id AS desk_id, d.unit_id, d.name AS desk_name, d.form_id, d.active,
       u.code AS unit_code, u.name AS unit_name, u.active AS unit_active,
       p.name AS parent_name, tree.effective_form_id AS unit_form_id,
       c.code,
       (SELECT count(*) FROM responses r WHERE r.desk_id = d.id) AS responses,
       d.opening_hours
FROM desks d
JOIN units u ON u.id = d.unit_id
JOIN tree ON tree.id = u.id
LEFT JOIN units p ON p.id = u.parent_id
LEFT JOIN desk_codes c ON c.desk_id = d.id AND c.retired_at IS NULL
WHERE ($1::int4[] IS NULL OR d.unit_id = ANY ($1))
  AND ($2::int4 IS NULL OR d.id = $2)
ORDER BY tree.path, d.id
