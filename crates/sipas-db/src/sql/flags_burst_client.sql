-- Bursts from one client (crates/sipas-db/src/flags.rs): the online responses with ids in ($1, $2] that
-- carry a client_key (a keyed hash of the address and the first-party cookie), and the
-- client's responses around them. A response is flagged when it lies in a window of $3 (an
-- interval) holding at least $4 responses of the same client. Kiosk responses share the
-- tablet's key and paper ballots have none: they are left out (the desk burst covers them).
WITH batch AS (
    SELECT client_key, min(submitted_at) AS lo, max(submitted_at) AS hi
    FROM responses
    WHERE id > $1 AND id <= $2 AND client_key IS NOT NULL
      AND channel NOT IN ('paper', 'kiosk') AND via IS DISTINCT FROM 'kiosk'
    GROUP BY client_key
),
ctx AS MATERIALIZED (
    SELECT r.id, r.client_key, r.submitted_at
    FROM batch b
    JOIN responses r
      ON r.client_key = b.client_key
     AND r.submitted_at >= b.lo - 2 * $3::interval
     AND r.submitted_at <= b.hi + 2 * $3::interval
    WHERE r.channel NOT IN ('paper', 'kiosk') AND r.via IS DISTINCT FROM 'kiosk' AND r.id <= $2
),
windows AS (
    SELECT c.id, c.client_key, c.submitted_at,
           count(*) OVER (PARTITION BY c.client_key ORDER BY c.submitted_at
                          RANGE BETWEEN CURRENT ROW AND $3::interval FOLLOWING) AS n_window
    FROM ctx c
),
covered AS (
    SELECT w.id,
           max(CASE WHEN w.n_window >= $4::int8 THEN w.n_window END) OVER (
               PARTITION BY w.client_key ORDER BY w.submitted_at
               RANGE BETWEEN $3::interval PRECEDING AND CURRENT ROW) AS n_max
    FROM windows w
)
INSERT INTO response_flags (response_id, reason, severity, detail)
SELECT id, 'burst_client', 'strong',
       jsonb_build_object('count', n_max, 'threshold', $4::int8, 'minutes', $5::float8)
FROM covered
WHERE n_max IS NOT NULL
ON CONFLICT DO NOTHING
