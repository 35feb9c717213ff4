DROP TABLE unit_lineage;
DROP TABLE reorganisations;
DROP INDEX units_admin_code_current_idx;
ALTER TABLE units
    DROP CONSTRAINT units_validity_check,
    DROP COLUMN valid_until,
    DROP COLUMN valid_from,
    DROP COLUMN admin_code;
ALTER TABLE units DROP CONSTRAINT units_kind_check;
ALTER TABLE units ADD CONSTRAINT units_kind_check CHECK (kind IN (
    'province', 'district', 'department', 'commune', 'town', 'ward', 'other'));
