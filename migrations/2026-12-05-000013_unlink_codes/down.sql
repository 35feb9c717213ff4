-- Puts the columns back; the links themselves are gone for good (they were dropped on purpose):
-- a used code gets its minting time as its time of use and no response, and the CHECKs that tied
-- the two together are not restored, since the rows no longer satisfy them.
ALTER TABLE visit_codes
    ADD COLUMN used_at timestamptz,
    ADD COLUMN response_id bigint UNIQUE REFERENCES responses (id);
UPDATE visit_codes SET used_at = created_at WHERE used;
ALTER TABLE visit_codes DROP COLUMN used;

ALTER TABLE responses ADD COLUMN visit_code_id bigint REFERENCES visit_codes (id);
CREATE UNIQUE INDEX responses_visit_code_idx ON responses (visit_code_id)
    WHERE visit_code_id IS NOT NULL;
ALTER TABLE responses ADD CONSTRAINT responses_code_via
    CHECK ((visit_code_id IS NULL) = (via IS DISTINCT FROM 'code')) NOT VALID;
ALTER TABLE visit_codes ADD CONSTRAINT visit_codes_check
    CHECK ((used_at IS NULL) = (response_id IS NULL)) NOT VALID;
