-- The rollups' foreign keys back (checked against the rows already there).
ALTER TABLE rollup_answers
    ADD CONSTRAINT rollup_answers_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT rollup_answers_form_version_id_fkey FOREIGN KEY (form_version_id) REFERENCES form_versions (id);
ALTER TABLE rollup_responses
    ADD CONSTRAINT rollup_responses_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT rollup_responses_form_version_id_fkey FOREIGN KEY (form_version_id) REFERENCES form_versions (id);
ALTER TABLE rollup_answers_month
    ADD CONSTRAINT rollup_answers_month_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT rollup_answers_month_form_version_id_fkey FOREIGN KEY (form_version_id) REFERENCES form_versions (id);
ALTER TABLE rollup_responses_month
    ADD CONSTRAINT rollup_responses_month_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT rollup_responses_month_form_version_id_fkey FOREIGN KEY (form_version_id) REFERENCES form_versions (id);
ALTER TABLE rollup_attribute_answers_month
    ADD CONSTRAINT rollup_attribute_answers_month_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT rollup_attribute_answers_month_form_version_id_fkey FOREIGN KEY (form_version_id) REFERENCES form_versions (id);
ALTER TABLE rollup_attribute_responses_month
    ADD CONSTRAINT rollup_attribute_responses_month_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id),
    ADD CONSTRAINT rollup_attribute_responses_month_form_version_id_fkey FOREIGN KEY (form_version_id) REFERENCES form_versions (id);
