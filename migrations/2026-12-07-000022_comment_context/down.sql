DROP INDEX response_texts_unit_time_idx;
DROP INDEX response_texts_time_idx;
DROP TRIGGER responses_pass_context ON responses;
DROP FUNCTION responses_pass_context();
DROP TRIGGER response_texts_take_context ON response_texts;
DROP FUNCTION response_texts_take_context();
ALTER TABLE response_texts
    DROP COLUMN form_version_id,
    DROP COLUMN submitted_at,
    DROP COLUMN unit_id;
