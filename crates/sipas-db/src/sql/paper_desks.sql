-- The active desks of active units within the units $1 (NULL: all), in unit-tree order, for
-- choosing where a paper ballot comes from.
WITH RECURSIVE tree AS (
    SELECT u.id, ARRAY[u.id] AS path FROM units u WHERE u.parent_id IS NULL
    UNION ALL
    SELECT u.id, tree.path || u.id FROM units u JOIN tree ON u.parent_id = tree.id
    WHERE cardinality(tree.path) < 32
)
SELECT d.id AS desk_id, d.name AS desk_name, u.id AS unit_id, u.name AS unit_name
FROM desks d
JOIN units u ON u.id = d.unit_id
JOIN tree ON tree.id = u.id
WHERE d.active AND u.active AND ($1::int4[] IS NULL OR u.id = ANY ($1))
ORDER BY tree.path, d.id
