DROP TRIGGER audit_log_append_only ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
DROP INDEX responses_paper_serial_idx;
ALTER TABLE responses
    DROP CONSTRAINT responses_paper_is_complete,
    DROP COLUMN paper_serial,
    DROP COLUMN entered_at,
    DROP COLUMN entered_by;
DROP TABLE plan_targets;
DROP TABLE plan_periods;
DROP TABLE survey_plans;
DROP TABLE sign_in_failures;
DROP TABLE account_units;
DROP TABLE accounts;
