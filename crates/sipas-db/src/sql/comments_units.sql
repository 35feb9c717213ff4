-- The unit tree in display order (each unit under its parent, siblings by id), limited to the
-- units $1 (NULL: all), with each unit's depth: the choices of the comments' unit filter.
WITH RECURSIVE tree AS (
    SELECT u.id, 0 AS depth, ARRAY[u.id] AS path
    FROM units u
    WHERE u.parent_id IS NULL
    UNION ALL
    SELECT u.id, tree.depth + 1, tree.path || u.id
    FROM units u
    JOIN tree ON u.parent_id = tree.id
    WHERE tree.depth < 32
)
SELECT u.id, u.name, tree.depth
FROM units u
JOIN tree ON tree.id = u.id
WHERE $1::int4[] IS NULL OR u.id = ANY ($1)
ORDER BY tree.path
