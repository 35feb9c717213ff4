-- The rollups are derived data (crates/sipas-db/src/rollup.rs): every row is a count of
-- responses, and the responses keep their own foreign keys to units and form versions, which
-- are never deleted. The rollups' own foreign keys guarded nothing more and cost half of a
-- large fold: each inserted row fired two checks (a rebuild of a million responses inserts
-- about 16 million rollup rows; measured on the benchmark's province, the answers' fold of
-- 100,000 responses took 58 s with them and 29 s without; 73 s of the 172 s of the fold by
-- attribute were the checks). Issue 18: folding years of old data at a first start.
ALTER TABLE rollup_answers
    DROP CONSTRAINT rollup_answers_unit_id_fkey,
    DROP CONSTRAINT rollup_answers_form_version_id_fkey;
ALTER TABLE rollup_responses
    DROP CONSTRAINT rollup_responses_unit_id_fkey,
    DROP CONSTRAINT rollup_responses_form_version_id_fkey;
ALTER TABLE rollup_answers_month
    DROP CONSTRAINT rollup_answers_month_unit_id_fkey,
    DROP CONSTRAINT rollup_answers_month_form_version_id_fkey;
ALTER TABLE rollup_responses_month
    DROP CONSTRAINT rollup_responses_month_unit_id_fkey,
    DROP CONSTRAINT rollup_responses_month_form_version_id_fkey;
ALTER TABLE rollup_attribute_answers_month
    DROP CONSTRAINT rollup_attribute_answers_month_unit_id_fkey,
    DROP CONSTRAINT rollup_attribute_answers_month_form_version_id_fkey;
ALTER TABLE rollup_attribute_responses_month
    DROP CONSTRAINT rollup_attribute_responses_month_unit_id_fkey,
    DROP CONSTRAINT rollup_attribute_responses_month_form_version_id_fkey;
