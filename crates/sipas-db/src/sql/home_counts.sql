-- The responses of year $2 (Vietnam's calendar) in the units $1 (NULL: all), in three parts
-- per form that add up to every response received: 'counted' in the figures (read from the
-- rollups, as the statistics pages read them), 'excluded' as suspected fraud
-- (response_reviews.excluded: never folded), 'pending': not yet folded into the rollups (ids
-- above the watermark). Only the rollups and small index ranges are read, never the year's
-- responses.
WITH bounds AS (
    SELECT make_date($2, 1, 1) AS first_day,
           make_date($2 + 1, 1, 1) AS next_first_day,
           make_date($2, 1, 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS from_at,
           make_date($2 + 1, 1, 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS until_at
)
SELECT 'counted' AS part, fv.form_id, sum(m.responses)::int8 AS responses
FROM bounds
JOIN rollup_responses_month m ON m.month >= bounds.first_day AND m.month < bounds.next_first_day
JOIN form_versions fv ON fv.id = m.form_version_id
WHERE $1::int4[] IS NULL OR m.unit_id = ANY ($1)
GROUP BY fv.form_id
UNION ALL
SELECT 'excluded', fv.form_id, count(*)
FROM bounds
JOIN responses r ON r.submitted_at >= bounds.from_at AND r.submitted_at < bounds.until_at
JOIN response_reviews v ON v.response_id = r.id AND v.excluded
JOIN form_versions fv ON fv.id = r.form_version_id
WHERE $1::int4[] IS NULL OR r.unit_id = ANY ($1)
GROUP BY fv.form_id
UNION ALL
SELECT 'pending', fv.form_id, count(*)
FROM bounds
JOIN responses r ON r.submitted_at >= bounds.from_at AND r.submitted_at < bounds.until_at
JOIN form_versions fv ON fv.id = r.form_version_id
WHERE r.id > (SELECT last_response_id FROM rollup_state)
  AND ($1::int4[] IS NULL OR r.unit_id = ANY ($1))
  AND NOT EXISTS (SELECT 1 FROM response_reviews v WHERE v.response_id = r.id AND v.excluded)
GROUP BY fv.form_id
