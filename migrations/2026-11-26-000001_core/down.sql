DROP TABLE response_texts;
DROP TABLE responses;
DROP TABLE desk_codes;
DROP TABLE desks;
ALTER TABLE units DROP COLUMN default_form_id;
DROP TABLE form_items;
DROP TABLE form_versions;
DROP TABLE forms;
DROP TABLE units;
