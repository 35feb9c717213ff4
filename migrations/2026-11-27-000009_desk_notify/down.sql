DROP TRIGGER units_notify ON units;
DROP TRIGGER desk_codes_notify ON desk_codes;
DROP TRIGGER desks_notify ON desks;
DROP FUNCTION notify_desk_change();
