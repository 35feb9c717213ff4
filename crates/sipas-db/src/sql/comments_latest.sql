-- The latest comments of groups of units submitted in `[$3, $4)`, newest first, `$5` at most
-- per group, with the group and the columns of `crate::comments::CommentRow`: `$1[k]` is the
-- group of unit `$2[k]` (a unit may belong to several groups). Each unit's comments are walked
-- back in time along `response_texts (unit_id, submitted_at)` (a comment carries its response's
-- unit and time: migration 000022) until `$5` are found, and the newest of those are kept per
-- group: the cost grows with the number of units, not of responses or comments, and a report
-- asks once for all its rows (one plan instead of one per row: planning this query costs more
-- than running it).
WITH candidates AS (
    SELECT a.group_id, c.response_id, c.item_id, c.submitted_at
    FROM unnest($1::int4[], $2::int4[]) AS a (group_id, unit_id)
    CROSS JOIN LATERAL (
        SELECT t.response_id, t.item_id, t.submitted_at
        FROM response_texts t
        WHERE t.unit_id = a.unit_id AND t.submitted_at >= $3 AND t.submitted_at < $4
        ORDER BY t.submitted_at DESC, t.response_id DESC, t.item_id DESC
        LIMIT $5
    ) c
),
latest AS (
    SELECT n.group_id, n.response_id, n.item_id
    FROM (
        SELECT c.*, row_number() OVER (
                   PARTITION BY c.group_id
                   ORDER BY c.submitted_at DESC, c.response_id DESC, c.item_id DESC) AS place
        FROM candidates c
    ) n
    WHERE n.place <= $5
)
SELECT l.group_id, t.response_id, t.item_id, i.code AS item_code, t.body,
       t.handled_at, t.handled_by, a.display_name AS handled_by_name, t.handling_note,
       t.submitted_at, r.channel, t.form_version_id,
       t.unit_id, u.name AS unit_name, d.name AS desk_name,
       coalesce(rv.excluded, false) AS excluded
FROM latest l
JOIN response_texts t ON t.response_id = l.response_id AND t.item_id = l.item_id
JOIN responses r ON r.id = t.response_id
JOIN form_items i ON i.id = t.item_id
JOIN units u ON u.id = t.unit_id
LEFT JOIN desks d ON d.id = r.desk_id
LEFT JOIN accounts a ON a.id = t.handled_by
LEFT JOIN response_reviews rv ON rv.response_id = r.id
ORDER BY l.group_id, t.submitted_at DESC, t.response_id DESC, t.item_id DESC
