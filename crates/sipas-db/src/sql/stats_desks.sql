-- The responses each desk of one unit ($1) received on Vietnam's days $2..$3 (included), every
-- form and channel: an index-only scan of responses_desk_time_idx (desk_id, submitted_at) per
-- desk (the rollups do not carry the desk; filtering by form or channel would read the rows:
-- ~540 ms for the busiest desk over a year at 1,000,000 responses, against ~50 ms). Every
-- active desk, and an inactive one when it received any.
SELECT d.id AS desk_id, d.name, c.responses
FROM desks d
CROSS JOIN LATERAL (
    SELECT count(*) AS responses FROM responses r
    WHERE r.desk_id = d.id
      AND r.submitted_at >= $2::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND r.submitted_at < ($3 + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
) c
WHERE d.unit_id = $1 AND (d.active OR c.responses > 0)
ORDER BY d.name, d.id
