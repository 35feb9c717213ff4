-- No path from an answer to a person (issue 15, Luật 91/2025/QH15).
--
-- A one-time code was linked to the response that used it both ways (responses.visit_code_id,
-- visit_codes.response_id) and kept the minute of its use; with the dossier number minted with
-- it, one join named the dossier, and through the one-stop software the citizen, of every
-- answer and comment. From now on the code row only says that it was used: the response's
-- transaction sets `used` (UPDATE ... WHERE NOT used, which also makes a second response with
-- the same code wait for the first and then find it used), and neither row refers to the other.
-- Existing links are dropped here; the times of use are not kept.
ALTER TABLE visit_codes ADD COLUMN used boolean NOT NULL DEFAULT false;
UPDATE visit_codes SET used = true WHERE used_at IS NOT NULL;

ALTER TABLE responses DROP CONSTRAINT responses_code_via;
DROP INDEX responses_visit_code_idx;
ALTER TABLE responses DROP COLUMN visit_code_id;

-- Dropping the columns drops their CHECK and UNIQUE constraints and the foreign key.
ALTER TABLE visit_codes DROP COLUMN response_id, DROP COLUMN used_at;

-- Dropped columns stay in the table's pages until rows are rewritten; rewrite both tables so
-- that the old links are gone from the data files too (the tables are small: codes and
-- responses of one installation).
-- (VACUUM FULL cannot run inside the migration's transaction; an UPDATE rewrites every row.)
UPDATE visit_codes SET used = used;
