-- Moves the watermark to $2 after folding the responses with $1 < id <= $2, and counts them.
-- (A data-modifying WITH runs whether or not the query reads it.)
WITH advanced AS (
    UPDATE rollup_state SET last_response_id = $2, refreshed_at = now()
)
SELECT count(*) AS responses FROM responses WHERE id > $1 AND id <= $2
