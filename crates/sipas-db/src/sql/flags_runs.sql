-- Identical answers in a row (crates/sipas-db/src/flags.rs): among the responses with ids in ($1, $2] and
-- the few just before them (see below), runs of consecutive responses (by id) with exactly
-- the same coded answers, at one desk (online and paper ballots apart; runs of at least $3)
-- or from one client (runs of at least $4). Only responses with at least $5 answered coded
-- items take part (a one-question rating repeats by nature). A run whose pattern is
-- straight-lined (every answered criterion the same value, at least $6 of them: common among
-- honest respondents) is a weak signal; any other repeated pattern is strong. $7: whether
-- client runs are looked for (off when the installation has no per-person limit,
-- SIPAS_LIMIT_PERSON=off).
WITH crit AS MATERIALIZED (
    SELECT form_version_id, answer_index FROM rollup_rules WHERE criterion
),
batch AS MATERIALIZED (
    SELECT id, desk_id, channel = 'paper' AS paper, client_key, submitted_at, form_version_id,
           answers
    FROM responses
    WHERE id > $1 AND id <= $2
),
desk_keys AS (
    SELECT desk_id, paper, min(submitted_at) AS lo
    FROM batch WHERE desk_id IS NOT NULL GROUP BY desk_id, paper
),
client_keys AS (
    SELECT client_key, min(submitted_at) AS lo
    FROM batch WHERE $7::bool AND client_key IS NOT NULL GROUP BY client_key
),
seq AS (
    SELECT 'desk' AS scope, desk_id::text || '/' || paper::text AS key, id, form_version_id,
           answers
    FROM batch WHERE desk_id IS NOT NULL
    UNION ALL
    -- Online responses: the last ones sent before the batch (by time, through the desk's
    -- (desk, time) index; by id, the primary key walked backwards would pass every response
    -- of every other desk since this desk's last one, so that a flood at one desk would slow
    -- every desk's fold). Paper ballots: the last ones entered (by id), which is what a
    -- clerk repeating a ballot shows; they are dated by day, not by time.
    SELECT 'desk', k.desk_id::text || '/' || k.paper::text, p.id, p.form_version_id, p.answers
    FROM desk_keys k
    CROSS JOIN LATERAL (
        SELECT r.id, r.form_version_id, r.answers FROM responses r
        WHERE r.desk_id = k.desk_id AND r.channel <> 'paper' AND r.id <= $1
          AND r.submitted_at >= k.lo - interval '1 day'
        ORDER BY r.submitted_at DESC, r.id DESC
        LIMIT $3::int8 - 1
    ) p
    WHERE NOT k.paper
    UNION ALL
    SELECT 'desk', k.desk_id::text || '/' || k.paper::text, p.id, p.form_version_id, p.answers
    FROM desk_keys k
    CROSS JOIN LATERAL (
        SELECT r.id, r.form_version_id, r.answers FROM responses r
        WHERE r.desk_id = k.desk_id AND r.channel = 'paper' AND r.id <= $1
          AND r.submitted_at >= k.lo - interval '1 day'
        ORDER BY r.id DESC
        LIMIT $3::int8 - 1
    ) p
    WHERE k.paper
    UNION ALL
    SELECT 'client', encode(client_key, 'hex'), id, form_version_id, answers
    FROM batch WHERE $7::bool AND client_key IS NOT NULL
    UNION ALL
    -- The client's last responses before the batch, by time through its (client, time) index
    -- as for a desk: by id, a new client (most of them) walked the primary key back through
    -- every response before the batch.
    SELECT 'client', encode(k.client_key, 'hex'), p.id, p.form_version_id, p.answers
    FROM client_keys k
    CROSS JOIN LATERAL (
        SELECT r.id, r.form_version_id, r.answers FROM responses r
        WHERE r.client_key = k.client_key AND r.id <= $1
          AND r.submitted_at >= k.lo - interval '1 day'
        ORDER BY r.submitted_at DESC, r.id DESC
        LIMIT $4::int8 - 1
    ) p
),
marked AS (
    SELECT s.*,
           cardinality(array_remove(s.answers, NULL)) >= $5::int8 AS enough,
           CASE WHEN s.answers IS NOT DISTINCT FROM lag(s.answers) OVER w
                     AND s.form_version_id = lag(s.form_version_id) OVER w
                THEN 0 ELSE 1 END AS starts
    FROM seq s
    WINDOW w AS (PARTITION BY s.scope, s.key ORDER BY s.id)
),
grouped AS (
    SELECT m.*, sum(m.starts) OVER (PARTITION BY m.scope, m.key ORDER BY m.id) AS grp
    FROM marked m
),
runs AS (
    SELECT g.*, count(*) OVER (PARTITION BY g.scope, g.key, g.grp) AS run
    FROM grouped g
),
hits AS (
    SELECT r.id, r.scope, r.run,
           (SELECT count(*) >= $6::int8 AND count(DISTINCT a.v) = 1
            FROM unnest(r.answers) WITH ORDINALITY AS a (v, i)
            JOIN crit c ON c.form_version_id = r.form_version_id AND c.answer_index = a.i
            WHERE a.v >= 1) AS straight
    FROM runs r
    WHERE r.enough
      AND r.run >= CASE WHEN r.scope = 'desk' THEN $3::int8 ELSE $4::int8 END
)
INSERT INTO response_flags (response_id, reason, severity, detail)
SELECT DISTINCT ON (id) id, 'identical_run',
       CASE WHEN straight THEN 'weak' ELSE 'strong' END,
       jsonb_build_object('run', run, 'scope', scope, 'straight', straight)
FROM hits
ORDER BY id, (scope = 'desk') DESC, run DESC
ON CONFLICT DO NOTHING
