-- Comments (open answers, response_texts) newest first, `$11` at most, with what the list
-- shows of each: its response's time, unit, desk, form version and channel, the item's code,
-- who handled it, and whether its response is left out of the figures as suspicious (a fraud
-- flag: crates/sipas-db/src/flags.rs). Filters, all optional (NULL: no filter), combined with AND:
--   $1  the account's scope: unit ids (NULL: every unit)
--   $2  the chosen unit and everything below it: unit ids
--   $3  handled (true) or not yet (false)
--   $4  submitted at or after; $5 submitted before (instants)
--   $6  form id (any of its versions)
--   $7  ILIKE pattern on the body (LIKE metacharacters escaped with a backslash)
--   $8, $9  keyset cursor: only comments after the comment (response_id, item_id), in the
--           order (submitted_at, response_id, item_id); the cursor carries no time, so that a
--           link never shows when a citizen answered (the list may show the day only); a
--           cursor outside the account's scope gives an empty page
--   $10 one comment only: (response_id, item_id) as ARRAY[response_id, item_id]
-- The filters and the order read the response's unit, time and form version from the comment's
-- own copies (migration 000022), so that the newest page comes from response_texts_time_idx
-- without joining every comment of the range to its response first.
SELECT t.response_id, t.item_id, i.code AS item_code, t.body,
       t.handled_at, t.handled_by, a.display_name AS handled_by_name, t.handling_note,
       t.submitted_at, r.channel, t.form_version_id,
       t.unit_id, u.name AS unit_name, d.name AS desk_name,
       coalesce(rv.excluded, false) AS excluded
FROM response_texts t
JOIN responses r ON r.id = t.response_id
JOIN form_items i ON i.id = t.item_id
JOIN units u ON u.id = t.unit_id
LEFT JOIN desks d ON d.id = r.desk_id
LEFT JOIN accounts a ON a.id = t.handled_by
LEFT JOIN response_reviews rv ON rv.response_id = r.id
WHERE ($1::int4[] IS NULL OR t.unit_id = ANY ($1))
  AND ($2::int4[] IS NULL OR t.unit_id = ANY ($2))
  AND ($3::bool IS NULL OR (t.handled_at IS NOT NULL) = $3)
  AND ($4::timestamptz IS NULL OR t.submitted_at >= $4)
  AND ($5::timestamptz IS NULL OR t.submitted_at < $5)
  AND ($6::text IS NULL
       OR t.form_version_id IN (SELECT fv.id FROM form_versions fv WHERE fv.form_id = $6))
  AND ($7::text IS NULL OR t.body ILIKE $7 ESCAPE '\')
  AND ($8::int8 IS NULL
       OR (t.submitted_at, t.response_id, t.item_id)
          < ((SELECT c.submitted_at FROM responses c
              WHERE c.id = $8 AND ($1::int4[] IS NULL OR c.unit_id = ANY ($1))), $8, $9::int4))
  AND ($10::int8[] IS NULL OR (t.response_id = $10[1] AND t.item_id = $10[2]))
ORDER BY t.submitted_at DESC, t.response_id DESC, t.item_id DESC
LIMIT $11
