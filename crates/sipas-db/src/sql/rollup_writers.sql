-- Which of the transactions $1 (virtual transaction ids) still hold their write lock on
-- responses.
SELECT coalesce(array_agg(DISTINCT l.virtualtransaction), '{}') AS writers
FROM pg_locks l
WHERE l.locktype = 'relation'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.relation = 'responses'::regclass
  AND l.mode = 'RowExclusiveLock'
  AND l.granted
  AND l.virtualtransaction = ANY ($1::text[])
