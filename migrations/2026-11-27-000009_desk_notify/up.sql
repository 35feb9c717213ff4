-- Every instance keeps the desks behind the public codes in memory (src/desk_directory.rs) and
-- trusts them only while it hears of every change: a committed change to a table the desk of a
-- code depends on notifies the channel `sipas_desks` (one notification per transaction, sent
-- at commit), and each instance listening on it forgets what it knew.
CREATE FUNCTION notify_desk_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sipas_desks', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER desks_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON desks
    FOR EACH STATEMENT EXECUTE FUNCTION notify_desk_change();
CREATE TRIGGER desk_codes_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON desk_codes
    FOR EACH STATEMENT EXECUTE FUNCTION notify_desk_change();
CREATE TRIGGER units_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION notify_desk_change();
