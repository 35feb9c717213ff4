-- The unit $1 and every unit below it.
WITH RECURSIVE sub AS (
    SELECT u.id, 0 AS depth FROM units u WHERE u.id = $1
    UNION
    SELECT u.id, sub.depth + 1 FROM units u JOIN sub ON u.parent_id = sub.id
    WHERE sub.depth < 32
)
SELECT DISTINCT id FROM sub ORDER BY id
