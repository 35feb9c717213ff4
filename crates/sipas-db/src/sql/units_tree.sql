-- The unit tree in display order (each unit under its parent, siblings by id), limited to the
-- units $1 (NULL: all), with each unit's depth, the form its desks show unless they choose one
-- (its own default, else the nearest one up the tree), and its numbers of desks and responses.
WITH RECURSIVE tree AS (
    SELECT u.id, 0 AS depth, ARRAY[u.id] AS path, u.default_form_id AS effective_form_id
    FROM units u
    WHERE u.parent_id IS NULL
    UNION ALL
    SELECT u.id, tree.depth + 1, tree.path || u.id,
           COALESCE(u.default_form_id, tree.effective_form_id)
    FROM units u
    JOIN tree ON u.parent_id = tree.id
    WHERE tree.depth < 32
)
SELECT u.id, u.parent_id, u.code, u.name, u.kind, u.default_form_id, u.active,
       tree.depth, tree.effective_form_id,
       (SELECT count(*) FROM desks d WHERE d.unit_id = u.id) AS desks,
       (SELECT count(*) FROM responses r WHERE r.unit_id = u.id) AS responses
FROM units u
JOIN tree ON tree.id = u.id
WHERE $1::int4[] IS NULL OR u.id = ANY ($1)
ORDER BY tree.path
