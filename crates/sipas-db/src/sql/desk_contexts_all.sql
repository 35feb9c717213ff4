-- Every active public code with its active desk of an active unit and the form it shows, as
-- desk_context.sql gives it for one code (the response spool's snapshot of the desks).
WITH RECURSIVE chain AS (
    SELECT u.id AS unit_id, u.parent_id, u.default_form_id, 0 AS depth
    FROM units u
    UNION ALL
    SELECT chain.unit_id, p.parent_id, p.default_form_id, chain.depth + 1
    FROM units p JOIN chain ON p.id = chain.parent_id
    WHERE chain.depth < 32
), nearest AS (
    SELECT DISTINCT ON (unit_id) unit_id, default_form_id
    FROM chain
    WHERE default_form_id IS NOT NULL
    ORDER BY unit_id, depth
)
SELECT c.code, d.id AS desk_id, d.name AS desk_name, u.id AS unit_id, u.name AS unit_name,
       COALESCE(d.form_id, nearest.default_form_id) AS form_id
FROM desk_codes c
JOIN desks d ON d.id = c.desk_id
JOIN units u ON u.id = d.unit_id
LEFT JOIN nearest ON nearest.unit_id = u.id
WHERE c.retired_at IS NULL AND d.active AND u.active
