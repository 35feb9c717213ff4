-- The dry run: follows retention_targets.sql and only counts (the same columns as
-- retention_apply.sql).
SELECT (SELECT count(*) FROM old_comments) AS comments,
       (SELECT count(*) FROM old_client_keys) AS client_keys,
       (SELECT count(*) FROM old_sign_in_failures) AS sign_in_failures,
       (SELECT count(*) FROM old_limit_buckets) AS limit_buckets,
       (SELECT count(*) FROM old_flag_details) AS flag_details,
       (SELECT count(*) FROM old_start_times) AS start_times,
       (SELECT count(*) FROM old_dossier_numbers) AS dossier_numbers,
       ARRAY(SELECT file_key FROM old_exports ORDER BY file_key) AS export_keys,
       ARRAY(SELECT format FROM old_exports ORDER BY file_key) AS export_formats
