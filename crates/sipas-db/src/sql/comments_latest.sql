-- The latest comments of units `$1` submitted in `[$2, $3)`, newest first, `$4` at most, with
-- the columns of `crate::comments::CommentRow`. Each unit's responses are walked back in
-- time along the `(unit_id, submitted_at)` index until `$4` responses with a comment are found
-- (a semi-join on `response_texts`' key, a plan PostgreSQL picks even before the tables are
-- analysed), and the newest comments of those are kept: the cost grows with the number of
-- units, not of responses. (The list query of `db::comments` joins every comment of the range
-- to its response: about 0.4 s at 1,000,000 responses.)
WITH latest AS (
    SELECT c.id
    FROM unnest($1::int4[]) AS s (unit_id)
    CROSS JOIN LATERAL (
        SELECT r.id, r.submitted_at
        FROM responses r
        WHERE r.unit_id = s.unit_id AND r.submitted_at >= $2 AND r.submitted_at < $3
          AND EXISTS (SELECT 1 FROM response_texts t WHERE t.response_id = r.id)
        ORDER BY r.submitted_at DESC, r.id DESC
        LIMIT $4
    ) c
    ORDER BY c.submitted_at DESC, c.id DESC
    LIMIT $4
)
SELECT t.response_id, t.item_id, i.code AS item_code, t.body,
       t.handled_at, t.handled_by, a.display_name AS handled_by_name, t.handling_note,
       r.submitted_at, r.channel, r.form_version_id,
       r.unit_id, u.name AS unit_name, d.name AS desk_name,
       coalesce(rv.excluded, false) AS excluded
FROM latest l
JOIN response_texts t ON t.response_id = l.id
JOIN responses r ON r.id = t.response_id
JOIN form_items i ON i.id = t.item_id
JOIN units u ON u.id = r.unit_id
LEFT JOIN desks d ON d.id = r.desk_id
LEFT JOIN accounts a ON a.id = t.handled_by
LEFT JOIN response_reviews rv ON rv.response_id = r.id
ORDER BY r.submitted_at DESC, t.response_id DESC, t.item_id DESC
LIMIT $4
