-- Moves the watermark to $2 after folding the responses with $1 < id <= $2, and counts them
-- (those excluded as suspected fraud are not folded, nor counted).
-- (A data-modifying WITH runs whether or not the query reads it.)
WITH advanced AS (
    UPDATE rollup_state SET last_response_id = $2, refreshed_at = now()
)
SELECT count(*) AS responses FROM responses r
WHERE r.id > $1 AND r.id <= $2
  AND NOT EXISTS (SELECT 1 FROM response_reviews rv WHERE rv.response_id = r.id AND rv.excluded)
