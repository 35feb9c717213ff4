-- The state of the responses flagged by this transaction (detected_at = now()): excluded by
-- default when one of their signals is strong, or when two different weak signals other than
-- straight-lining coincide (straight-lining is common among honest respondents, so it never
-- tips the balance); an admin's decision, when there is one, wins. Returns the (unit, month)
-- of the responses already folded into the rollups (id <= $1) whose state changed, so that
-- the caller folds those unit-months again.
WITH touched AS (
    SELECT DISTINCT response_id FROM response_flags WHERE detected_at = now()
),
verdict AS (
    SELECT f.response_id,
           bool_or(f.severity = 'strong')
           OR count(DISTINCT f.reason) FILTER (
                  WHERE f.severity = 'weak' AND f.reason <> 'straight_line') >= 2 AS by_default
    FROM response_flags f
    JOIN touched t USING (response_id)
    GROUP BY f.response_id
),
saved AS (
    INSERT INTO response_reviews AS v (response_id, excluded_by_default)
    SELECT response_id, by_default FROM verdict
    ON CONFLICT (response_id) DO UPDATE SET excluded_by_default = EXCLUDED.excluded_by_default
)
SELECT DISTINCT r.unit_id,
       date_trunc('month', r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month
FROM verdict x
JOIN responses r ON r.id = x.response_id
LEFT JOIN response_reviews old ON old.response_id = x.response_id
WHERE x.response_id <= $1
  AND coalesce(old.excluded, false)
      IS DISTINCT FROM coalesce(old.decision = 'exclude', x.by_default)
