-- The purge: follows retention_targets.sql. One statement, so every rule sees one snapshot;
-- each change re-checks its condition on the row it changes (a bucket used meanwhile stays).
,
deleted_comments AS (
    DELETE FROM response_texts t
    USING old_comments o
    WHERE t.response_id = o.response_id AND t.item_id = o.item_id
    RETURNING 1
),
-- One UPDATE for both columns: a statement may not update a row twice.
cleared_responses AS (
    UPDATE responses r SET
        client_key = CASE WHEN r.id IN (SELECT id FROM old_client_keys) THEN NULL ELSE r.client_key END,
        started_at = CASE WHEN r.id IN (SELECT id FROM old_start_times) THEN NULL ELSE r.started_at END
    WHERE r.id IN (SELECT id FROM old_client_keys UNION SELECT id FROM old_start_times)
    RETURNING r.id IN (SELECT id FROM old_client_keys) AS key_cleared,
              r.id IN (SELECT id FROM old_start_times) AS start_cleared
),
deleted_sign_in_failures AS (
    DELETE FROM sign_in_failures s
    USING old_sign_in_failures o
    WHERE s.id = o.id
    RETURNING 1
),
deleted_limit_buckets AS (
    DELETE FROM visit_limits l
    USING old_limit_buckets o
    WHERE l.kind = o.kind AND l.key = o.key
      AND l.updated_at < now() - make_interval(days => $3)
    RETURNING 1
),
cleared_flag_details AS (
    UPDATE response_flags f SET detail = '{}'::jsonb
    FROM old_flag_details o
    WHERE f.response_id = o.response_id AND f.reason = o.reason
    RETURNING 1
),
cleared_dossier_numbers AS (
    UPDATE visit_codes v SET dossier_no = NULL
    FROM old_dossier_numbers o
    WHERE v.id = o.id AND v.dossier_no IS NOT NULL
    RETURNING 1
),
expired_exports AS (
    UPDATE export_jobs j SET status = 'expired'
    FROM old_exports o
    WHERE j.id = o.id AND j.status = 'done'
    RETURNING j.file_key, j.format
)
SELECT (SELECT count(*) FROM deleted_comments) AS comments,
       (SELECT count(*) FILTER (WHERE key_cleared) FROM cleared_responses) AS client_keys,
       (SELECT count(*) FROM deleted_sign_in_failures) AS sign_in_failures,
       (SELECT count(*) FROM deleted_limit_buckets) AS limit_buckets,
       (SELECT count(*) FROM cleared_flag_details) AS flag_details,
       (SELECT count(*) FILTER (WHERE start_cleared) FROM cleared_responses) AS start_times,
       (SELECT count(*) FROM cleared_dossier_numbers) AS dossier_numbers,
       ARRAY(SELECT file_key FROM expired_exports ORDER BY file_key) AS export_keys,
       ARRAY(SELECT format FROM expired_exports ORDER BY file_key) AS export_formats
