DROP TRIGGER responses_residence_current ON responses;
DROP FUNCTION responses_residence_current();
ALTER TABLE responses
    DROP CONSTRAINT responses_residence_check,
    DROP COLUMN residence_code,
    DROP COLUMN residence_unit_id;
ALTER TABLE form_items DROP CONSTRAINT form_items_kind_check;
ALTER TABLE form_items ADD CONSTRAINT form_items_kind_check CHECK (kind IN ('choice', 'text'));
