-- Comments and handled comments per unit (the unit the response belongs to, not rolled up),
-- with the filters of comments_list.sql ($1 to $7, the same meaning; no cursor).
-- The comments' own copies of their responses' unit, time and form version (migration 000022)
-- spare the join with responses.
SELECT t.unit_id, count(*) AS total, count(t.handled_at) AS handled
FROM response_texts t
WHERE ($1::int4[] IS NULL OR t.unit_id = ANY ($1))
  AND ($2::int4[] IS NULL OR t.unit_id = ANY ($2))
  AND ($3::bool IS NULL OR (t.handled_at IS NOT NULL) = $3)
  AND ($4::timestamptz IS NULL OR t.submitted_at >= $4)
  AND ($5::timestamptz IS NULL OR t.submitted_at < $5)
  AND ($6::text IS NULL
       OR t.form_version_id IN (SELECT fv.id FROM form_versions fv WHERE fv.form_id = $6))
  AND ($7::text IS NULL OR t.body ILIKE $7 ESCAPE '\')
GROUP BY t.unit_id
ORDER BY t.unit_id
