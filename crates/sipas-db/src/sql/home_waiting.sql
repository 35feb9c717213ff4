-- Flagged responses without a decision and comments not yet handled, of the responses of the
-- units $1 (NULL: all, without touching the responses). One branch or the other runs: the
-- planner drops the one whose condition on $1 is false. The units' response ids come from the
-- index responses (unit_id, id) alone (an index-only scan), joined by hash; a comment carries its
-- response's unit itself (migration 000022).
SELECT
    (SELECT count(*) FROM response_reviews v WHERE v.decision IS NULL AND $1::int4[] IS NULL)
    + (SELECT count(*) FROM response_reviews v JOIN responses r ON r.id = v.response_id
       WHERE v.decision IS NULL AND r.unit_id = ANY ($1)) AS flags_undecided,
    (SELECT count(*) FROM response_texts t
     WHERE t.handled_at IS NULL AND ($1::int4[] IS NULL OR t.unit_id = ANY ($1)))
    AS comments_unhandled
