-- Every plan with its unit, newest year first, for the units $1 (NULL: all): a unit account
-- sees the plans of its units and of the units above them (whose tables hold its rows).
WITH RECURSIVE above AS (
    SELECT u.id, u.parent_id, 0 AS depth FROM units u WHERE u.id = ANY ($1)
    UNION
    SELECT p.id, p.parent_id, above.depth + 1 FROM units p JOIN above ON p.id = above.parent_id
    WHERE above.depth < 32
)
SELECT p.id, p.unit_id, p.year, p.title, p.form_id, p.margin_of_error, p.created_at,
       u.name AS unit_name
FROM survey_plans p
JOIN units u ON u.id = p.unit_id
WHERE $1::int4[] IS NULL OR p.unit_id IN (SELECT id FROM above)
ORDER BY p.year DESC, u.name, p.id
