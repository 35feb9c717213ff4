-- Flagged responses (response_reviews) newest first, $6 at most, with the columns of
-- crate::flags::FlaggedRow: the response, its unit and desk, its signals as a JSON array
-- ({reason, severity, detail}) and its state. Filters, all optional (NULL: no filter):
--   $1 unit ids; $2 a reason; $3 'excluded', 'counted' or 'decided'; $4 ids below this
--   (keyset cursor); $5 one response.
SELECT r.id AS response_id, r.submitted_at, r.started_at, r.channel, r.unit_id,
       u.name AS unit_name, d.name AS desk_name, r.form_version_id, r.answers,
       (SELECT jsonb_agg(jsonb_build_object('reason', f.reason, 'severity', f.severity,
                                            'detail', f.detail) ORDER BY f.reason)
        FROM response_flags f WHERE f.response_id = r.id) AS signals,
       v.excluded_by_default, v.decision, a.display_name AS decided_by_name, v.decided_at,
       v.note, v.excluded
FROM response_reviews v
JOIN responses r ON r.id = v.response_id
JOIN units u ON u.id = r.unit_id
LEFT JOIN desks d ON d.id = r.desk_id
LEFT JOIN accounts a ON a.id = v.decided_by
WHERE ($1::int4[] IS NULL OR r.unit_id = ANY ($1))
  AND ($2::text IS NULL
       OR EXISTS (SELECT 1 FROM response_flags f WHERE f.response_id = r.id AND f.reason = $2))
  AND ($3::text IS NULL
       OR ($3 = 'excluded' AND v.excluded)
       OR ($3 = 'counted' AND NOT v.excluded)
       OR ($3 = 'decided' AND v.decision IS NOT NULL))
  AND ($4::int8 IS NULL OR v.response_id < $4)
  AND ($5::int8 IS NULL OR v.response_id = $5)
ORDER BY v.response_id DESC
LIMIT $6
