-- The active desk of an active unit, named by its active public code ($1) or by its id ($2),
-- with its unit and the form it shows: the desk's own choice, else the nearest unit up the
-- tree that names a default form (NULL: the installation default).
WITH RECURSIVE desk AS (
    SELECT d.id AS desk_id, d.name AS desk_name, d.form_id AS desk_form_id,
           u.id AS unit_id, u.name AS unit_name
    FROM desks d
    JOIN units u ON u.id = d.unit_id
    WHERE d.id = COALESCE($2::int4, (SELECT c.desk_id FROM desk_codes c
                                      WHERE c.code = $1::text AND c.retired_at IS NULL))
      AND d.active AND u.active
), chain AS (
    SELECT u.id, u.parent_id, u.default_form_id, 0 AS depth
    FROM units u JOIN desk ON u.id = desk.unit_id
    UNION ALL
    SELECT p.id, p.parent_id, p.default_form_id, chain.depth + 1
    FROM units p JOIN chain ON p.id = chain.parent_id
    WHERE chain.depth < 32
)
SELECT desk.desk_id, desk.desk_name, desk.unit_id, desk.unit_name,
       COALESCE(desk.desk_form_id,
                (SELECT default_form_id FROM chain
                 WHERE default_form_id IS NOT NULL ORDER BY depth LIMIT 1)) AS form_id
FROM desk
