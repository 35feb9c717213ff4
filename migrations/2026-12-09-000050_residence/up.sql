-- The respondent's place of residence (issue 19): Public Administrative Service Centres accept
-- dossiers whatever the citizen's residence (Nghị định 118/2025/NĐ-CP), so results are also
-- read by where citizens live. A form asks it with an item of type "residence"
-- (survey-forms/README.md); the answer is stored beside the answers array:
--   residence_unit_id: a commune, ward or town of the unit tree;
--   residence_code:    a place listed in the form (its code, >= 1, in the form version's scale),
--                      -1 "Nơi khác" (elsewhere), -2 "Không muốn trả lời" (would rather not say).
-- Both NULL: not asked or not answered. Never both.
ALTER TABLE form_items DROP CONSTRAINT form_items_kind_check;
ALTER TABLE form_items ADD CONSTRAINT form_items_kind_check
    CHECK (kind IN ('choice', 'text', 'residence'));

ALTER TABLE responses
    ADD COLUMN residence_unit_id integer REFERENCES units (id),
    ADD COLUMN residence_code    smallint,
    ADD CONSTRAINT responses_residence_check CHECK (
        (residence_unit_id IS NULL OR residence_code IS NULL)
        AND (residence_code IS NULL OR residence_code >= 1 OR residence_code IN (-1, -2)));

-- A residence is optional: a unit that is not a commune, ward or town existing on the day the
-- citizen answered (an unknown id, a department, a commune that ended by a reorganisation
-- since the page was rendered, a hostile value) is stored as no answer rather than losing the
-- citizen's whole response to a foreign-key error; also when a spooled response is replayed
-- after such an act (the day is the response's, not the replay's).
CREATE FUNCTION responses_residence_current() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.residence_unit_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM units u
        WHERE u.id = NEW.residence_unit_id
          AND u.kind IN ('commune', 'ward', 'town')
          AND (u.valid_from IS NULL
               OR u.valid_from <= (NEW.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)
          AND (u.valid_until IS NULL
               OR u.valid_until > (NEW.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date))
    THEN
        NEW.residence_unit_id := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER responses_residence_current
    BEFORE INSERT OR UPDATE OF residence_unit_id ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_residence_current();
