ALTER TABLE accounts DROP COLUMN sessions_valid_after;
