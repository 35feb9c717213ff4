-- The responses each desk of one unit ($1) received on Vietnam's days $2..$3 (included), of
-- one form ($4, every version), optionally through one channel ($5). Read straight from
-- `responses` through responses_desk_time_idx (desk_id, submitted_at): the rollups do not
-- carry the desk. Every active desk, and an inactive one when it received any.
SELECT d.id AS desk_id, d.name, count(r.id) AS responses
FROM desks d
LEFT JOIN responses r
  ON r.desk_id = d.id
 AND r.submitted_at >= $2::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
 AND r.submitted_at < ($3 + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
 AND r.form_version_id IN (SELECT fv.id FROM form_versions fv WHERE fv.form_id = $4)
 AND ($5::text IS NULL OR r.channel = $5)
WHERE d.unit_id = $1
GROUP BY d.id, d.name, d.active
HAVING d.active OR count(r.id) > 0
ORDER BY d.name, d.id
