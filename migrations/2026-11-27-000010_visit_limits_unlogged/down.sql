CREATE INDEX visit_limits_updated_idx ON visit_limits (updated_at);
ALTER TABLE visit_limits RESET (fillfactor);
ALTER TABLE visit_limits SET LOGGED;
