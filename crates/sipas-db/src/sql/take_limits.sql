-- Takes one submission from each token bucket named by the four arrays (kind, key, burst,
-- refill per second: the binds, each used once and in order), in one statement: a new bucket
-- starts full, an old one refills for the time since it was last touched (up to its burst),
-- and each gives one. Returns `wait`: NULL when every bucket had a submission to give, else
-- the seconds until the emptiest one has (the caller rolls the transaction back).
WITH wanted AS (
    SELECT * FROM unnest($1::text[], $2::bytea[], $3::float8[], $4::float8[])
        WITH ORDINALITY AS w(kind, key, burst, refill, ord)
), taken AS (
    INSERT INTO visit_limits AS l (kind, key, tokens, updated_at)
    SELECT kind, key, burst - 1, clock_timestamp() FROM wanted ORDER BY ord
    ON CONFLICT (kind, key) DO UPDATE SET
        tokens = least(
            EXCLUDED.tokens + 1,
            l.tokens
                + greatest(0, extract(epoch FROM clock_timestamp() - l.updated_at)::float8)
                  * (SELECT w.refill FROM wanted w WHERE w.kind = EXCLUDED.kind AND w.key = EXCLUDED.key)
        ) - 1,
        updated_at = clock_timestamp()
    RETURNING kind, key, tokens
)
SELECT max(ceil(-t.tokens / w.refill)) FILTER (WHERE t.tokens < -1e-9) AS wait
FROM taken t JOIN wanted w USING (kind, key)
