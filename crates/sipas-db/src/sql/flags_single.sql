-- The signals of a response on its own (crates/sipas-db/src/flags.rs), for the responses with ids in
-- ($1, $2]:
--   straight_line  every answered criterion (value >= 1) the same, at least $3 of them (weak);
--   too_fast       submitted less than $4 + $5 x (answered coded items) seconds after the form
--                  was rendered (started_at; not for paper) (strong); only when $8 (the
--                  installation checks completion times, SIPAS_MIN_FILL_SECONDS > 0);
--   outside_hours  the form was opened (started_at, else submitted_at) outside the desk's
--                  opening hours, with $6 minutes of tolerance before opening and $7 after
--                  closing, Vietnam's time; QR and kiosk responses only (a paper ballot is
--                  dated by its day; a web response is not at the desk). Weak for the QR code
--                  (a citizen may finish on the way home), strong for the kiosk (the tablet
--                  stands in the office).
WITH crit AS MATERIALIZED (
    SELECT form_version_id, answer_index FROM rollup_rules WHERE criterion
),
batch AS MATERIALIZED (
    SELECT r.id, r.desk_id, r.channel, r.via, r.started_at, r.submitted_at,
           cardinality(array_remove(r.answers, NULL)) AS answered, c.n_crit, c.n_values,
           c.value
    FROM responses r
    CROSS JOIN LATERAL (
        SELECT count(*) AS n_crit, count(DISTINCT a.v) AS n_values, min(a.v) AS value
        FROM unnest(r.answers) WITH ORDINALITY AS a (v, i)
        JOIN crit c ON c.form_version_id = r.form_version_id AND c.answer_index = a.i
        WHERE a.v >= 1
    ) c
    WHERE r.id > $1 AND r.id <= $2
),
signals AS (
    SELECT id, 'straight_line' AS reason, 'weak' AS severity,
           jsonb_build_object('criteria', n_crit, 'value', value) AS detail
    FROM batch
    WHERE n_crit >= $3::int8 AND n_values = 1
    UNION ALL
    SELECT id, 'too_fast', 'strong',
           jsonb_build_object('seconds', round(seconds::numeric, 1),
                              'minimum', round(minimum::numeric, 1), 'items', answered)
    FROM (
        SELECT id, answered, extract(epoch FROM submitted_at - started_at)::float8 AS seconds,
               $4::float8 + $5::float8 * answered AS minimum
        FROM batch
        WHERE $8::bool AND started_at IS NOT NULL AND channel <> 'paper'
    ) t
    WHERE seconds < minimum
    UNION ALL
    SELECT b.id, 'outside_hours',
           CASE WHEN b.channel = 'kiosk' OR b.via = 'kiosk' THEN 'strong' ELSE 'weak' END,
           jsonb_build_object('weekday', extract(isodow FROM t.local)::int,
                              'time', to_char(t.local, 'HH24:MI'))
    FROM batch b
    JOIN desks d ON d.id = b.desk_id
    CROSS JOIN LATERAL (
        SELECT coalesce(b.started_at, b.submitted_at) AT TIME ZONE 'Asia/Ho_Chi_Minh' AS local
    ) t
    CROSS JOIN LATERAL (
        SELECT extract(hour FROM t.local)::int * 60 + extract(minute FROM t.local)::int AS minute
    ) m
    WHERE b.channel IN ('qr', 'kiosk') AND d.opening_hours IS NOT NULL
      AND NOT EXISTS (
          SELECT 1
          FROM jsonb_array_elements(d.opening_hours) AS h (range)
          CROSS JOIN LATERAL (
              SELECT split_part(h.range ->> 'opens', ':', 1)::int * 60
                         + split_part(h.range ->> 'opens', ':', 2)::int AS opens,
                     split_part(h.range ->> 'closes', ':', 1)::int * 60
                         + split_part(h.range ->> 'closes', ':', 2)::int AS closes
          ) o
          WHERE h.range -> 'days' @> to_jsonb(extract(isodow FROM t.local)::int)
            AND m.minute >= o.opens - $6::int4
            AND m.minute < o.closes + $7::int4
      )
)
INSERT INTO response_flags (response_id, reason, severity, detail)
SELECT id, reason, severity, detail FROM signals
ON CONFLICT DO NOTHING
