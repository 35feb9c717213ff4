-- Bursts at a desk (crates/sipas-db/src/flags.rs): the online responses (not paper) with ids in ($1, $2] and
-- the desk's responses around them. A response is flagged when it lies in a window of $3
-- (an interval) holding at least max($4, ceil($5 x usual)) responses of its desk, where `usual`
-- is the desk's expected number in such a window at its busiest: its responses per working day
-- (the 28 days before that day over 20 working days, or that day's own count when higher, so
-- that a desk without history is judged on its day), spread over the 5 busiest hours (300
-- minutes: responses crowd into the mornings), times the window's $6 minutes. Earlier
-- responses of a window that becomes dense are flagged too (the whole burst).
--
-- The counts per day come from desk_days (migration 11), which this statement keeps: it adds
-- the batch's responses, so that the table always counts the responses with ids up to the
-- fold's watermark. The statement reads only the responses within 2 x $3 of the batch, and a
-- few rows per desk for the 28 days: a fold's cost no longer grows with the desk's history.
WITH batch_rows AS MATERIALIZED (
    SELECT desk_id, submitted_at, (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day
    FROM responses
    WHERE id > $1 AND id <= $2 AND desk_id IS NOT NULL AND channel <> 'paper'
),
counted AS (
    INSERT INTO desk_days AS d (desk_id, day, responses)
    SELECT desk_id, day, count(*) FROM batch_rows GROUP BY desk_id, day
    ON CONFLICT (desk_id, day) DO UPDATE SET responses = d.responses + EXCLUDED.responses
    RETURNING d.desk_id, d.day, d.responses
),
batch AS (
    SELECT desk_id, min(submitted_at) AS lo, max(submitted_at) AS hi
    FROM batch_rows
    GROUP BY desk_id
),
-- Each desk's responses per day with ids up to $2: the days the batch added to as RETURNING
-- gives them (the statement's snapshot does not see its own writes), the others as stored.
daily AS (
    SELECT desk_id, day, responses AS n FROM counted
    UNION ALL
    SELECT d.desk_id, d.day, d.responses
    FROM batch b
    JOIN desk_days d
      ON d.desk_id = b.desk_id
     AND d.day >= ((b.lo - 2 * $3::interval) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - 28
     AND d.day <= ((b.hi + 2 * $3::interval) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
    WHERE NOT EXISTS (SELECT 1 FROM counted c WHERE c.desk_id = d.desk_id AND c.day = d.day)
),
usual AS (
    SELECT desk_id, day, n,
           coalesce(sum(n) OVER (PARTITION BY desk_id ORDER BY day
                                 RANGE BETWEEN '28 days' PRECEDING AND '1 day' PRECEDING), 0)
               AS n28
    FROM daily
),
ctx AS MATERIALIZED (
    SELECT r.id, r.desk_id, r.submitted_at,
           (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day
    FROM batch b
    CROSS JOIN LATERAL (
        SELECT r.id, r.desk_id, r.submitted_at
        FROM responses r
        WHERE r.desk_id = b.desk_id
          AND r.submitted_at >= b.lo - 2 * $3::interval
          AND r.submitted_at <= b.hi + 2 * $3::interval
          AND r.channel <> 'paper' AND r.id <= $2
    ) r
),
windows AS (
    SELECT c.id, c.desk_id, c.submitted_at, c.day,
           count(*) OVER (PARTITION BY c.desk_id ORDER BY c.submitted_at
                          RANGE BETWEEN CURRENT ROW AND $3::interval FOLLOWING) AS n_window
    FROM ctx c
),
dense AS (
    SELECT w.id, w.desk_id, w.submitted_at, w.n_window,
           greatest($4::int8,
                    ceil($5::float8 * greatest(u.n28 / 20.0, u.n) * $6::float8 / 300.0)::int8)
               AS threshold
    FROM windows w
    JOIN usual u USING (desk_id, day)
),
-- A response is covered when a dense window starts at most $3 before it (that window holds
-- it): the latest dense start up to each response is a running maximum, linear in the
-- responses (a maximum over a sliding frame is recomputed for every row, quadratic in a
-- burst). Its count and threshold are the detail shown to admins.
covered AS (
    SELECT d.id, d.submitted_at,
           max(CASE WHEN d.n_window >= d.threshold
                    THEN ARRAY[extract(epoch FROM d.submitted_at), d.n_window, d.threshold]
               END) OVER (PARTITION BY d.desk_id ORDER BY d.submitted_at
                          RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS dense_start
    FROM dense d
)
-- A burst goes on over several folds: its responses flagged by an earlier one are skipped
-- before their details are built.
INSERT INTO response_flags (response_id, reason, severity, detail)
SELECT c.id, 'burst_desk', 'strong',
       jsonb_build_object('count', c.dense_start[2], 'threshold', c.dense_start[3],
                          'minutes', $6::float8)
FROM covered c
WHERE c.dense_start[1] >= extract(epoch FROM c.submitted_at - $3::interval)
  AND NOT EXISTS (SELECT 1 FROM response_flags f
                  WHERE f.response_id = c.id AND f.reason = 'burst_desk')
ON CONFLICT DO NOTHING
