-- Bursts at a desk (src/db/flags.rs): the online responses (not paper) with ids in ($1, $2] and
-- the desk's responses around them. A response is flagged when it lies in a window of $3
-- (an interval) holding at least max($4, ceil($5 x usual)) responses of its desk, where `usual`
-- is the desk's expected number in such a window at its busiest: its responses per working day
-- (the 28 days before that day over 20 working days, or that day's own count when higher, so
-- that a desk without history is judged on its day), spread over the 5 busiest hours (300
-- minutes: responses crowd into the mornings), times the window's $6 minutes. Earlier
-- responses of a window that becomes dense are flagged too (the whole burst).
WITH batch AS (
    SELECT desk_id, min(submitted_at) AS lo, max(submitted_at) AS hi
    FROM responses
    WHERE id > $1 AND id <= $2 AND desk_id IS NOT NULL AND channel <> 'paper'
    GROUP BY desk_id
),
ctx AS MATERIALIZED (
    SELECT r.id, r.desk_id, r.submitted_at,
           (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
           r.submitted_at >= b.lo - 2 * $3::interval AS near
    FROM batch b
    JOIN responses r
      ON r.desk_id = b.desk_id
     AND r.submitted_at >= ((((b.lo - 2 * $3::interval) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - 28)
                            ::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
     AND r.submitted_at <= b.hi + 2 * $3::interval
    WHERE r.channel <> 'paper' AND r.id <= $2
),
daily AS (
    SELECT desk_id, day, count(*) AS n FROM ctx GROUP BY desk_id, day
),
usual AS (
    SELECT desk_id, day, n,
           coalesce(sum(n) OVER (PARTITION BY desk_id ORDER BY day
                                 RANGE BETWEEN '28 days' PRECEDING AND '1 day' PRECEDING), 0)
               AS n28
    FROM daily
),
windows AS (
    SELECT c.id, c.desk_id, c.submitted_at, c.day,
           count(*) OVER (PARTITION BY c.desk_id ORDER BY c.submitted_at
                          RANGE BETWEEN CURRENT ROW AND $3::interval FOLLOWING) AS n_window
    FROM ctx c
    WHERE c.near
),
dense AS (
    SELECT w.id, w.desk_id, w.submitted_at, w.n_window,
           greatest($4::int8,
                    ceil($5::float8 * greatest(u.n28 / 20.0, u.n) * $6::float8 / 300.0)::int8)
               AS threshold
    FROM windows w
    JOIN usual u USING (desk_id, day)
),
covered AS (
    SELECT d.id,
           max(CASE WHEN d.n_window >= d.threshold THEN d.n_window END) OVER w AS n_max,
           max(CASE WHEN d.n_window >= d.threshold THEN d.threshold END) OVER w AS threshold
    FROM dense d
    WINDOW w AS (PARTITION BY d.desk_id ORDER BY d.submitted_at
                 RANGE BETWEEN $3::interval PRECEDING AND CURRENT ROW)
)
INSERT INTO response_flags (response_id, reason, severity, detail)
SELECT id, 'burst_desk', 'strong',
       jsonb_build_object('count', n_max, 'threshold', threshold, 'minutes', $6::float8)
FROM covered
WHERE n_max IS NOT NULL
ON CONFLICT DO NOTHING
