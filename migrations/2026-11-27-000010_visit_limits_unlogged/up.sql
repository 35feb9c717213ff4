-- The submission limits' token buckets are working state, not records: after a crash of
-- PostgreSQL every bucket may start full again, and read replicas never need them. Unlogged,
-- a bucket costs no WAL (each citizen's submission creates or updates one per person and one
-- per address), and without the index on updated_at an update of an existing bucket can stay
-- on its page (HOT); the rare prune (src/db/visits.rs) reads the table through.
ALTER TABLE visit_limits SET UNLOGGED;
ALTER TABLE visit_limits SET (fillfactor = 80);
DROP INDEX visit_limits_updated_idx;
