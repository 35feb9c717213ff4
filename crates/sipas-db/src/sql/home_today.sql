-- Responses received today (Vietnam's day) in the units $1 (NULL: all): one range of the index
-- (unit_id, submitted_at) per unit, never a scan of the responses.
SELECT COALESCE(sum(today.n), 0)::int8 AS today
FROM units u
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM responses r
    WHERE r.unit_id = u.id
      AND r.submitted_at >= (date_trunc('day', now() AT TIME ZONE 'Asia/Ho_Chi_Minh')
                             AT TIME ZONE 'Asia/Ho_Chi_Minh')
) today
WHERE $1::int4[] IS NULL OR u.id = ANY ($1)
