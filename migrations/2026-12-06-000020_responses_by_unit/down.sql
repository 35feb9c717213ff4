DROP INDEX responses_unit_id_idx;
