-- Today's units of units $1 (issue 19): the unit itself while it exists; once ended (its
-- valid_until reached, in Vietnam's days), its successors through unit_lineage, walked on while
-- they have ended too. Codes comma-separated in code order, one row per unit of $1.
WITH RECURSIVE today AS (
    SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day
),
walk (unit_id, current_id, depth) AS (
    SELECT u.id, u.id, 0 FROM units u WHERE u.id = ANY ($1)
    UNION
    SELECT w.unit_id, l.successor_id, w.depth + 1
    FROM walk w
    JOIN units cur ON cur.id = w.current_id
    JOIN unit_lineage l ON l.predecessor_id = w.current_id
    WHERE cur.valid_until IS NOT NULL AND cur.valid_until <= (SELECT day FROM today)
      AND w.depth < 32
)
SELECT w.unit_id, string_agg(DISTINCT u.code, ', ' ORDER BY u.code) AS codes
FROM walk w
JOIN units u ON u.id = w.current_id
WHERE u.valid_until IS NULL OR u.valid_until > (SELECT day FROM today)
GROUP BY w.unit_id
