-- Every active desk of an active unit with its current public code, in unit-tree order.
WITH RECURSIVE tree AS (
    SELECT u.id, ARRAY[u.id] AS path FROM units u WHERE u.parent_id IS NULL
    UNION ALL
    SELECT u.id, tree.path || u.id FROM units u JOIN tree ON u.parent_id = tree.id
    WHERE cardinality(tree.path) < 32
)
SELECT d.id AS desk_id, d.name AS desk_name, u.code AS unit_code, u.name AS unit_name,
       p.name AS parent_name, c.code
FROM desks d
JOIN units u ON u.id = d.unit_id
LEFT JOIN units p ON p.id = u.parent_id
JOIN desk_codes c ON c.desk_id = d.id AND c.retired_at IS NULL
JOIN tree ON tree.id = u.id
WHERE d.active AND u.active
ORDER BY tree.path, d.id
