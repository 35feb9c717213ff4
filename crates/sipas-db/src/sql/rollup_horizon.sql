-- Where a refresh may fold up to. One statement, so one snapshot, taken before pg_locks is
-- read: `max_id` is the highest committed id this snapshot sees, `writers` the transactions
-- that hold a write lock on responses when pg_locks is read, i.e. every transaction that
-- might have taken an id <= max_id without having committed it yet (see crates/sipas-db/src/rollup.rs).
SELECT
    (SELECT coalesce(max(id), 0) FROM responses) AS max_id,
    (SELECT last_response_id FROM rollup_state) AS watermark,
    coalesce(
        (SELECT array_agg(DISTINCT l.virtualtransaction)
         FROM pg_locks l
         WHERE l.locktype = 'relation'
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.relation = 'responses'::regclass
           AND l.mode = 'RowExclusiveLock'
           AND l.granted
           AND l.virtualtransaction IS NOT NULL
           AND l.pid IS DISTINCT FROM pg_backend_pid()),
        '{}') AS writers
